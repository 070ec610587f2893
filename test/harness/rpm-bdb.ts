/**
 * The real Berkeley DB rpm databases in test/fixtures/rpm-bdb, and what the real rpm (Debian's
 * 4.18, through its read-only `bdb_ro` backend) reads from a given file: the reference the
 * scanner's own reader is checked against.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ParsedPackage } from '../../src/scanners/builtin/parsers/types';

export const RPM_BDB_FIXTURES = path.join(__dirname, '..', 'fixtures', 'rpm-bdb');

/** One line per package: name, `[epoch:]version-release`, source rpm. */
export const ROWS_QF = '%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{SOURCERPM}\\n';

/** `rpm -qa --qf <qf>` on `file` as a Packages database; lines sorted, empty ones dropped. */
export function rpmQuery(file: Buffer, qf: string): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-rpm-bdb-'));
  try {
    writeFileSync(path.join(dir, 'Packages'), file);
    // rpm warns on stderr about the index databases a bare Packages file comes without.
    const out = execFileSync('rpm', ['--dbpath', dir, '--define', '_db_backend bdb_ro', '-qa', '--qf', qf], { stdio: ['ignore', 'pipe', 'ignore'] });
    return out.toString().split('\n').filter(Boolean).sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The scanner's packages in {@link ROWS_QF}'s form (rpm gives a subpackage its source's version). */
export function ourRows(db: { packages: ParsedPackage[] }): string[] {
  return db.packages.map((p) => `${p.name} ${p.version} ${p.sourceName ?? p.name}-${p.version.replace(/^\d+:/, '')}.src.rpm`).sort();
}

export interface PageInfo {
  n: number;
  type: number;
  prev: number;
  next: number;
}

/** Page headers of a little-endian database with 4 KiB pages (the main fixture). */
export function pagesOf(file: Buffer, size = 4096): PageInfo[] {
  return Array.from({ length: Math.floor(file.length / size) }, (_, n) => ({
    n, type: file[n * size + 25]!, prev: file.readUInt32LE(n * size + 12), next: file.readUInt32LE(n * size + 16),
  }));
}

/** Overflow chains (page numbers, first to last), found from their first pages. */
export function overflowChains(file: Buffer, size = 4096): number[][] {
  const pages = pagesOf(file, size);
  return pages.filter((p) => p.type === 7 && p.prev === 0).map((head) => {
    const chain = [head.n];
    for (let n = head.next; n !== 0 && chain.length < pages.length; n = pages[n]!.next) chain.push(n);
    return chain;
  });
}
