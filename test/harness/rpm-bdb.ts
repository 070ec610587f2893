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

/**
 * A Berkeley DB hash file built by hand, for what Berkeley DB itself never writes for rpm:
 * one header stored inline (`H_KEYDATA`) on bucket 0's page, optionally on a second page that
 * bucket 0 chains to and the metadata's page count leaves out. rpm's bdb_ro reads the plain
 * form, which checks the layout this builder writes.
 */
export function handBuiltDb(blob: Buffer, opts: { le: boolean; pageSize: number; beyondLastPage?: boolean }): Buffer {
  const { le, pageSize } = opts;
  const pages = opts.beyondLastPage ? 3 : 2;
  const b = Buffer.alloc(pageSize * pages);
  const w32 = (v: number, at: number) => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const w16 = (v: number, at: number) => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  // Metadata: magic, hash version 9, page size, type P_HASHMETA, last page 1, one key, spares[0] = 1 (bucket 0 is page 1).
  w32(0x061561, 12); w32(9, 16); w32(pageSize, 20); b[25] = 8; w32(1, 32); w32(1, 88); w32(1, 96);
  const bucket = pageSize;
  w32(1, bucket + 8); b[bucket + 25] = 13;
  let p = bucket;
  if (opts.beyondLastPage) {
    w32(2, bucket + 16); w16(pageSize - 1, bucket + 22);
    p = 2 * pageSize;
    w32(2, p + 8); w32(1, p + 12); b[p + 25] = 13;
  }
  const keyAt = pageSize - 5;
  const dataAt = keyAt - 1 - blob.length;
  w16(2, p + 20); w16(dataAt, p + 22); w16(keyAt, p + 26); w16(dataAt, p + 28);
  b[p + keyAt] = 1; w32(1, p + keyAt + 1);
  b[p + dataAt] = 1; blob.copy(b, p + dataAt + 1);
  return b;
}
