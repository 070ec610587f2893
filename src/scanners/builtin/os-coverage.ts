/**
 * Whether the image's OS packages were really inventoried, as coverage findings (fail
 * closed). A pure function of the merged filesystem and what the inventory found:
 * - os-release names a distribution the scanner has no package reader or no OSV ecosystem
 *   for (Fedora, Amazon Linux, CentOS, Wolfi, a Debian derivative…): its packages went unscanned;
 * - a package database is present but no os-release says which distribution it belongs to,
 *   or it belongs to another one than the database's manager (a dpkg database on Alpine):
 *   its packages cannot be matched against the right advisories;
 * - os-release names a supported distribution but its package database is missing or holds
 *   no package (deleted to hide packages, or unreadable): nothing was checked.
 * An image with neither os-release nor a package database (scratch, a static binary) has no
 * OS packages to inventory and gets no coverage finding here.
 */
import { unscannedOs } from '../coverage';
import type { Finding } from '../types';
import type { MergedFilesystem } from './filesystem';
import { distroEcosystem, type OsRelease } from './parsers/os-release';

type Manager = 'dpkg' | 'apk' | 'rpm';

const MANAGER_OF_KIND: Record<string, Manager> = { 'dpkg-status': 'dpkg', 'apk-installed': 'apk', 'rpmdb-sqlite': 'rpm', 'rpmdb-bdb': 'rpm' };

/** Distribution ids whose packages this scanner reads and matches, and with which manager. */
const SUPPORTED: Record<string, Manager> = { debian: 'dpkg', ubuntu: 'dpkg', alpine: 'apk', rocky: 'rpm', almalinux: 'rpm', rhel: 'rpm' };

interface Database {
  manager: Manager;
  path: string;
  layer: string;
  packages: number;
  /** A Berkeley DB rpm database no package was read from (noticed only, or unreadable). */
  unreadBdb: boolean;
}

function databases(fs: MergedFilesystem): Database[] {
  const out: Database[] = [];
  for (const [path, facts] of fs.entries()) {
    const manager = facts.kind ? MANAGER_OF_KIND[facts.kind] : undefined;
    if (manager) out.push({ manager, path: `/${path}`, layer: facts.layer, packages: facts.packages?.length ?? 0, unreadBdb: facts.kind === 'rpmdb-bdb' && !facts.packages?.length });
  }
  return out;
}

function describe(os: OsRelease): string {
  return os.PRETTY_NAME ?? [os.ID ?? 'unknown', os.VERSION_ID].filter(Boolean).join(' ');
}

export function osCoverageFindings(fs: MergedFilesystem, os: OsRelease | undefined): Finding[] {
  const dbs = databases(fs);
  if (!os) {
    return dbs.length > 0
      ? [unscannedOs(`a ${dbs[0]!.manager} package database without /etc/os-release: the distribution and release are unknown`, dbs[0]!.path, dbs[0]!.layer)]
      : [];
  }
  const id = (os.ID ?? '').toLowerCase();
  const manager = SUPPORTED[id];
  if (!manager) return [unscannedOs(`distribution ${describe(os)} (ID=${id || 'unset'}) is not supported by the builtin scanner`, '/etc/os-release')];
  const out: Finding[] = [];
  // A Berkeley DB database whose packages were read counts as any read database.
  for (const db of dbs.filter((d) => d.unreadBdb)) {
    out.push(unscannedOs(`the rpm database of ${describe(os)} is in Berkeley DB format and no package could be read from it`, db.path, db.layer));
  }
  for (const db of dbs.filter((d) => !d.unreadBdb)) {
    if (db.manager !== manager || distroEcosystem(os, db.manager) === null) {
      out.push(unscannedOs(`a ${db.manager} package database on ${describe(os)}`, db.path, db.layer));
    }
  }
  const own = dbs.filter((d) => d.manager === manager && !d.unreadBdb);
  if (own.length === 0 && !dbs.some((d) => d.unreadBdb)) out.push(unscannedOs(`${describe(os)} without its ${manager} package database`));
  else if (own.length > 0 && own.every((d) => d.packages === 0)) out.push(unscannedOs(`the ${manager} package database of ${describe(os)} lists no installed package`, own[0]!.path, own[0]!.layer));
  return out.map((f) => withReason(f, fs));
}

/** The reader's reason a database could not be read (`PathFacts.unreadable`), added to its finding. */
function withReason(finding: Finding, fs: MergedFilesystem): Finding {
  const reason = finding.path ? fs.get(finding.path.slice(1))?.unreadable : undefined;
  return reason ? { ...finding, title: `${finding.title} (${reason})` } : finding;
}
