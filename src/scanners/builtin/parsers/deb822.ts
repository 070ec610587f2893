/**
 * Walks RFC 822-style control data (dpkg's status file) paragraph by paragraph, keeping only
 * the fields asked for. Continuation lines (leading space or tab) belong to the previous field
 * and are dropped: no field the scanner reads is multi-line.
 *
 * Bounded by construction (issue 8.2, a 60 MiB status.d file grew the process by gigabytes):
 * lines are found with indexOf, never split into an array of all lines; only wanted fields
 * are kept, each at most {@link MAX_FIELD_CHARS}; and more than `maxParagraphs` paragraphs
 * fail with `SCAN_LIMIT_EXCEEDED` before they are built.
 */
import { AppError } from '../../../lib/errors';

/** Longest value of a kept field (package names and versions are far shorter). */
export const MAX_FIELD_CHARS = 4096;

/** Calls `fn` with each line of `text` (without its `\n` or `\r\n`), stopping when it returns false. */
export function eachLine(text: string, fn: (line: string) => boolean | void): void {
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.charCodeAt(end - 1) === 13 && end > start ? text.slice(start, end - 1) : text.slice(start, end);
    if (fn(line) === false || end === text.length) return;
    start = end + 1;
  }
}

export function tooManyRecords(what: string, max: number): AppError {
  return new AppError('SCAN_LIMIT_EXCEEDED', `${what}: more than ${max} records`);
}

export function fieldTooLong(what: string, field: string): AppError {
  return new AppError('SCAN_LIMIT_EXCEEDED', `${what}: field ${field} is longer than ${MAX_FIELD_CHARS} characters`);
}

/**
 * Calls `onParagraph` with the wanted fields (lower-cased names) of each paragraph.
 * @throws AppError SCAN_LIMIT_EXCEEDED past `maxParagraphs` paragraphs or a kept field too long
 */
export function eachParagraph(
  text: string, wanted: ReadonlySet<string>, maxParagraphs: number, what: string, onParagraph: (fields: Map<string, string>) => void,
): void {
  let current = new Map<string, string>();
  let lines = 0;
  let count = 0;
  const flush = (): void => {
    if (lines === 0) return;
    count += 1;
    if (count > maxParagraphs) throw tooManyRecords(what, maxParagraphs);
    onParagraph(current);
    current = new Map();
    lines = 0;
  };
  eachLine(text, (line) => {
    if (line.trim() === '') return flush();
    lines += 1;
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9) return;
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!wanted.has(name)) return;
    if (line.length - colon > MAX_FIELD_CHARS) throw fieldTooLong(what, name);
    current.set(name, line.slice(colon + 1).trim());
  });
  flush();
}
