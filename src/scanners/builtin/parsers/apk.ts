/**
 * apk's installed database (`/lib/apk/db/installed`): blank-line separated records of
 * one-letter fields; `P:` name, `V:` version, `o:` origin (the source package Alpine's
 * advisories name). File lists (`F:`/`R:` lines) are skipped.
 */
import type { ParsedPackage } from './types';

export function parseApkInstalled(text: string): ParsedPackage[] {
  const out: ParsedPackage[] = [];
  let fields = new Map<string, string>();
  const flush = (): void => {
    const name = fields.get('P');
    const version = fields.get('V');
    if (name && version) {
      const origin = fields.get('o');
      out.push(origin && origin !== name ? { name, version, sourceName: origin } : { name, version });
    }
    fields = new Map();
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') continue;
    const key = line[0]!;
    if (key === 'P' || key === 'V' || key === 'o') fields.set(key, line.slice(2).trim());
  }
  flush();
  return out;
}
