/**
 * apk's installed database (`/lib/apk/db/installed`): blank-line separated records of
 * one-letter fields; `P:` name, `V:` version, `o:` origin (the source package Alpine's
 * advisories name). File lists (`F:`/`R:` lines) are skipped. Bounded like dpkg's parser
 * (./deb822.ts): lines found with indexOf, kept fields capped, records counted.
 */
import { eachLine, fieldTooLong, MAX_FIELD_CHARS, tooManyRecords } from './deb822';
import type { ParsedPackage } from './types';

/**
 * @param maxRecords records allowed in this file (`limits.maxDatabaseEntries`); more → SCAN_LIMIT_EXCEEDED
 */
export function parseApkInstalled(text: string, maxRecords = Number.MAX_SAFE_INTEGER, what = 'apk installed'): ParsedPackage[] {
  const out: ParsedPackage[] = [];
  let fields = new Map<string, string>();
  let lines = 0;
  let records = 0;
  const flush = (): void => {
    if (lines === 0) return;
    records += 1;
    if (records > maxRecords) throw tooManyRecords(what, maxRecords);
    const name = fields.get('P');
    const version = fields.get('V');
    if (name && version) {
      const origin = fields.get('o');
      out.push(origin && origin !== name ? { name, version, sourceName: origin } : { name, version });
    }
    fields = new Map();
    lines = 0;
  };
  eachLine(text, (line) => {
    if (line.trim() === '') return flush();
    lines += 1;
    if (line[1] !== ':') return;
    const key = line[0]!;
    if (key !== 'P' && key !== 'V' && key !== 'o') return;
    if (line.length > MAX_FIELD_CHARS) throw fieldTooLong(what, key);
    fields.set(key, line.slice(2).trim());
  });
  flush();
  return out;
}
