/**
 * Maven's version order (org.apache.maven.artifact.versioning.ComparableVersion), which OSV's
 * `Maven` ranges use: a version splits at `.` and `-` and at every switch between digits and
 * letters (a switch or `-` opens a sub-list); numbers compare as numbers, qualifiers in the
 * order alpha < beta < milestone < rc < snapshot < (release) < sp < anything else
 * (alphabetically); trailing zeros and release qualifiers do not count (`1.0.0` = `1` =
 * `1-final`); a number is newer than a qualifier or a sub-list at the same place.
 */
import type { VersionScheme } from './types';

type Item = { kind: 'int'; value: bigint } | { kind: 'str'; value: string } | { kind: 'list'; items: Item[] };

const ALIASES: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone', cr: 'rc', ga: '', final: '', release: '' };
const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];

/** Sort key of a qualifier: known ones by rank, others after all of them, alphabetically. */
function qualifierKey(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i >= 0 ? String(i) : `${QUALIFIERS.length}-${q}`;
}

function isNull(item: Item): boolean {
  if (item.kind === 'int') return item.value === 0n;
  if (item.kind === 'str') return qualifierKey(item.value) === qualifierKey('');
  return item.items.length === 0;
}

/** Drops trailing "null" items (0, release qualifiers, empty lists) of a list, as Maven normalizes. */
function normalize(list: Item[]): void {
  while (list.length > 0 && isNull(list[list.length - 1]!)) list.pop();
}

function parse(version: string): Item[] {
  const root: Item[] = [];
  let list = root;
  const stack: Item[][] = [root];
  let token = '';
  let digits = false;
  const push = (): void => {
    if (token === '') {
      list.push({ kind: 'int', value: 0n });
    } else if (digits) {
      list.push({ kind: 'int', value: BigInt(token) });
    } else {
      list.push({ kind: 'str', value: ALIASES[token] ?? token });
    }
    token = '';
  };
  const sublist = (): void => {
    const next: Item[] = [];
    list.push({ kind: 'list', items: next });
    list = next;
    stack.push(next);
  };
  const v = version.toLowerCase();
  for (let i = 0; i < v.length; i += 1) {
    const c = v[i]!;
    if (c === '.') {
      push();
    } else if (c === '-') {
      push();
      sublist();
    } else if (c >= '0' && c <= '9') {
      if (!digits && token !== '') {
        push();
        sublist();
      }
      digits = true;
      token += c;
    } else {
      if (digits && token !== '') {
        push();
        sublist();
      }
      digits = false;
      token += c;
    }
  }
  if (token !== '' || v.endsWith('.') || v.endsWith('-') || v === '') push();
  for (let i = stack.length - 1; i >= 0; i -= 1) normalize(stack[i]!);
  return root;
}

function compareItem(a: Item | undefined, b: Item | undefined): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return -compareItem(b, undefined);
  if (b === undefined) {
    if (a.kind === 'int') return a.value === 0n ? 0 : 1;
    if (a.kind === 'str') return qualifierKey(a.value) < qualifierKey('') ? -1 : qualifierKey(a.value) === qualifierKey('') ? 0 : 1;
    return a.items.length === 0 ? 0 : compareItem(a.items[0], undefined);
  }
  if (a.kind === 'int') {
    if (b.kind === 'int') return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
    return 1; // a number is newer than a qualifier or a sub-list
  }
  if (a.kind === 'str') {
    if (b.kind === 'int' || b.kind === 'list') return -1;
    const x = qualifierKey(a.value);
    const y = qualifierKey(b.value);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  if (b.kind === 'int') return -1;
  if (b.kind === 'str') return 1;
  return compareLists(a.items, b.items);
}

function compareLists(a: Item[], b: Item[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const r = compareItem(a[i], b[i]);
    if (r !== 0) return r;
  }
  return 0;
}

export function compareMaven(a: string, b: string): number {
  return compareLists(parse(a.trim()), parse(b.trim()));
}

export const mavenScheme: VersionScheme = {
  name: 'maven',
  isValid: (v) => v.trim() !== '' && !/\s/.test(v.trim()),
  compare: compareMaven,
};
