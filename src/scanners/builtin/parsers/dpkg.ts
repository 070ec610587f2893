/**
 * dpkg's database: `/var/lib/dpkg/status` (one paragraph per package, with `Status:`) and the
 * `status.d/` files distroless images use instead (one package per file, no `Status:`).
 * `Source:` maps a binary package to the source package Debian's advisories are keyed by;
 * it may carry the source version in parentheses when that differs (binNMUs).
 */
import { eachParagraph } from './deb822';
import type { ParsedPackage } from './types';

const SOURCE = /^(\S+)(?:\s+\((\S+)\))?$/;
const FIELDS: ReadonlySet<string> = new Set(['package', 'version', 'status', 'source']);

/** Whether a `Status:` value means the package's files are on disk. */
function installed(status: string | undefined): boolean {
  if (status === undefined) return true; // status.d entries have no Status field
  const state = status.split(/\s+/)[2];
  // half-configured / unpacked packages have their files in place too.
  return state === 'installed' || state === 'half-configured' || state === 'unpacked' || state === 'triggers-awaited' || state === 'triggers-pending';
}

/**
 * The installed packages of one dpkg database file.
 * @param maxRecords paragraphs allowed in this file (`limits.maxDatabaseEntries`); more → SCAN_LIMIT_EXCEEDED
 */
export function parseDpkgStatus(text: string, maxRecords = Number.MAX_SAFE_INTEGER, what = 'dpkg status'): ParsedPackage[] {
  const out: ParsedPackage[] = [];
  eachParagraph(text, FIELDS, maxRecords, what, (p) => {
    const name = p.get('package');
    const version = p.get('version');
    if (!name || !version || !installed(p.get('status'))) return;
    const pkg: ParsedPackage = { name, version };
    const source = SOURCE.exec(p.get('source') ?? '');
    if (source?.[1]) {
      if (source[1] !== name) pkg.sourceName = source[1];
      if (source[2]) pkg.sourceVersion = source[2];
    }
    out.push(pkg);
  });
  return out;
}
