/**
 * A fleet of scanned single-image digests made of real PyPI packages at versions the real OSV
 * advisories list (each has findings under them), for the re-match tests on real Redis.
 */
import type { ScannedInventory } from '../../src/scanners/builtin/adapter';
import { OsvDatabase } from '../../src/scanners/osv/database';
import type { OsvRecord } from '../../src/scanners/osv/schema';
import type { InstalledPackage } from '../../src/scanners/packages';

export const digestOf = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

export function dbOf(records: readonly OsvRecord[]): OsvDatabase {
  const db = new OsvDatabase();
  for (const r of records) db.add(r);
  return db;
}

/**
 * `count` digests (`digestOf(base + d)`, repository `<repositoryPrefix><d>`), digest d holding
 * the packages `slice(d)` picks out of the PyPI packages the advisories list.
 */
export function pypiFleet(records: readonly OsvRecord[], count: number, o: { base: number; manifestBase: number; repositoryPrefix: string; slice: (d: number) => [number, number] }): ScannedInventory[] {
  const pool: InstalledPackage[] = [];
  for (const r of records) {
    for (const a of r.affected ?? []) {
      if (a.package.ecosystem !== 'PyPI' || !a.versions?.length) continue;
      pool.push({ name: a.package.name, version: a.versions.at(-1)!, ecosystem: 'PyPI', path: `/srv/${a.package.name}` });
    }
  }
  return Array.from({ length: count }, (_, d) => ({
    scanner: 'builtin', digest: digestOf(o.base + d), repository: `${o.repositoryPrefix}${d}`, scannedAt: '2026-12-01T10:00:00.000Z', dbVersion: 'osv-seed',
    images: [{ manifestDigest: digestOf(o.manifestBase + d), packages: pool.slice(...o.slice(d)).map((p, k) => ({ ...p, path: `${p.path}/${k}` })), coverage: [], hardening: [] }],
  }));
}
