/**
 * Where a JSON text breaks: its JSON path, line and column. `JSON.parse` says only "at
 * position N" (and in Node 20 not even that for every error), which tells a developer with a
 * 20 MB SARIF log nothing; this scanner walks the text once, keeping the path of the value it
 * is in, and stops at the first byte that cannot continue a JSON text (RFC 8259). It runs only
 * after `JSON.parse` has failed, with an explicit stack, so deep nesting cannot overflow.
 *
 * Both its cost and its answer are bounded, since the text is whatever a client uploaded: it
 * stops at {@link MAX_LOCATE_DEPTH} levels of nesting (a 19 MB `[[[[…x` once kept 19 million
 * frames and answered with a 100 MiB path), and a path is cut at {@link MAX_PATH_CHARS}.
 */

/**
 * Nesting the locator follows; deeper, it reports the depth instead of the error. Real SARIF
 * logs nest about fifteen levels.
 */
export const MAX_LOCATE_DEPTH = 128;

/** Characters of a JSON path put in a message; longer, its first ones and `…`. */
export const MAX_PATH_CHARS = 200;

/**
 * `runs[0].results[3].ruleId` from path segments; `$` for the root. Longer than `maxChars`, it
 * is cut to its first `maxChars` characters and `…` (a property name may be megabytes long).
 */
export function jsonPath(path: ReadonlyArray<PropertyKey>, maxChars = MAX_PATH_CHARS): string {
  let out = '';
  for (const seg of path) {
    const name = typeof seg === 'string' && seg.length > maxChars ? seg.slice(0, maxChars + 1) : seg;
    if (typeof name === 'number') out += `[${name}]`;
    else if (typeof name === 'string' && /^[A-Za-z_$][\w$]*$/.test(name)) out += out ? `.${name}` : name;
    else out += `[${JSON.stringify(String(name))}]`;
    if (out.length > maxChars) return `${out.slice(0, maxChars)}…`;
  }
  return out || '$';
}

export interface SyntaxErrorLocation {
  /** JSON path of the value being read when the text broke (`$` at the top). */
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units. */
  column: number;
  problem: string;
  /** Set when the locator stopped at {@link MAX_LOCATE_DEPTH} levels: the text nests deeper. */
  maxDepth?: number;
}

type Expect = 'value' | 'value-or-end' | 'key' | 'key-or-end' | 'colon' | 'comma-or-end' | 'eof';
interface Frame { array: boolean; key: string | number | null }

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/** The first syntax error of `text`, or null when it is one valid JSON text. */
export function locateSyntaxError(text: string): SyntaxErrorLocation | null {
  const n = text.length;
  const stack: Frame[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let expect = 'value' as Expect;

  const fail = (problem: string, tooDeep = false): SyntaxErrorLocation => {
    let line = 1;
    let lineStart = 0;
    for (let j = 0; j < i; j++) if (text.charCodeAt(j) === 10) { line++; lineStart = j + 1; }
    const path = jsonPath(stack.filter((f) => f.key !== null).map((f) => f.key as string | number));
    return { path, line, column: i - lineStart + 1, problem, ...(tooDeep ? { maxDepth: MAX_LOCATE_DEPTH } : {}) };
  };
  /** Moves past a string starting at `i`; false at a bad escape, a control character or the end. */
  const string = (): boolean => {
    i++;
    while (i < n) {
      const c = text[i];
      if (c === '"') { i++; return true; }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && ESCAPES.has(e)) i += 2;
        else if (e === 'u' && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else return false;
      } else if (text.charCodeAt(i) < 0x20) return false;
      else i++;
    }
    return false;
  };
  const afterValue = (): void => { expect = stack.length ? 'comma-or-end' : 'eof'; };

  for (;;) {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
    if (i >= n) return expect === 'eof' ? null : fail('unexpected end of the text');
    const c = text[i];
    const top = stack[stack.length - 1];
    switch (expect) {
      case 'eof':
        return fail('unexpected text after the end of the log');
      case 'value':
      case 'value-or-end': {
        if (expect === 'value-or-end' && c === ']') { stack.pop(); i++; afterValue(); break; }
        if ((c === '{' || c === '[') && stack.length >= MAX_LOCATE_DEPTH) {
          return fail(`nesting deeper than ${MAX_LOCATE_DEPTH} levels (where the text breaks is not looked for deeper)`, true);
        }
        if (c === '{') { stack.push({ array: false, key: null }); i++; expect = 'key-or-end'; break; }
        if (c === '[') { stack.push({ array: true, key: 0 }); i++; expect = 'value-or-end'; break; }
        if (c === '"') { if (!string()) return fail('a string is not closed or has a bad escape'); afterValue(); break; }
        NUMBER.lastIndex = i;
        const num = NUMBER.exec(text);
        if (num && num[0] !== '-') { i += num[0].length; afterValue(); break; }
        const literal = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
        if (literal) { i += literal.length; afterValue(); break; }
        return fail(`expected a value, found ${JSON.stringify(c)}`);
      }
      case 'key':
      case 'key-or-end': {
        if (expect === 'key-or-end' && c === '}') { stack.pop(); i++; afterValue(); break; }
        if (c !== '"') return fail(`expected a property name in double quotes, found ${JSON.stringify(c)}`);
        const start = i;
        if (!string()) return fail('a property name is not closed or has a bad escape');
        top.key = JSON.parse(text.slice(start, i)) as string;
        expect = 'colon';
        break;
      }
      case 'colon':
        if (c !== ':') return fail(`expected ":", found ${JSON.stringify(c)}`);
        i++;
        expect = 'value';
        break;
      case 'comma-or-end':
        if (c === (top.array ? ']' : '}')) { stack.pop(); i++; afterValue(); break; }
        if (c !== ',') return fail(`expected "," or "${top.array ? ']' : '}'}", found ${JSON.stringify(c)}`);
        i++;
        if (top.array) { top.key = (top.key as number) + 1; expect = 'value'; } else { top.key = null; expect = 'key'; }
        break;
    }
  }
}
