/**
 * The fleet re-match looks each distinct package up once (RematchMemo, shared by every digest
 * of a pass) and reads packages from the compact matching form kept beside the SBOM
 * (src/monitor/inventory-compact.ts). Both must give, byte for byte, the report text that
 * matching each digest alone against the database through its SBOM gives: checked here on
 * the real OSV corpus (PyPI, Go, npm, Debian advisories of /work/shared/realworld/osv) with
 * inventories built from the packages and versions those advisories name, shared between
 * digests at other paths and layers, with multi-platform digests and Debian source packages.
 */
import { compactInventorySchema, fromCompact, toCompact } from '../../../src/monitor/inventory-compact';
import { platformInventories, RedisInventoryStore } from '../../../src/monitor/inventory-store';
import type { ScannedInventory } from '../../../src/scanners/builtin/adapter';
import { RematchMemo } from '../../../src/monitor/rematch-memo';
import { matchInventory, type PlatformInventory } from '../../../src/scanners/builtin/match';
import { loadRecords } from '../../../src/scanners/osv/loader';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import type { InstalledPackage } from '../../../src/scanners/packages';
import type { Finding } from '../../../src/scanners/types';
import { realworld } from '../../harness/realworld';
import { rng } from '../../harness/seeded';

jest.setTimeout(120_000);


interface Candidate { ecosystem: string; name: string; versions: string[] }

const layer = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

describe('the de-duplicated fleet re-match on real advisories', () => {
  let db: OsvDatabase;
  const candidates: Candidate[] = [];

  beforeAll(async () => {
    db = await OsvDatabase.load(realworld('osv'));
    const byKey = new Map<string, Candidate>();
    await loadRecords(realworld('osv'), (r) => {
      for (const a of r.affected ?? []) {
        const { ecosystem, name } = a.package;
        const c = byKey.get(`${ecosystem}|${name}`) ?? { ecosystem, name, versions: [] };
        // Versions the advisory lists, the bounds of its ranges (an introduced one is affected, a fixed one is not).
        for (const v of (a.versions ?? []).slice(-3)) c.versions.push(v);
        for (const range of a.ranges ?? []) for (const e of range.events) for (const v of Object.values(e)) if (v !== '0') c.versions.push(String(v));
        byKey.set(`${ecosystem}|${name}`, c);
      }
    });
    for (const c of byKey.values()) if (c.versions.length > 0) candidates.push(c);
  });

  function fleet(digests: number): ScannedInventory[] {
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const installed = (c: Candidate, version: string): InstalledPackage => {
      const pkg: InstalledPackage = { name: c.name, version, ecosystem: c.ecosystem, path: `/srv/${c.name}/${version}` };
      // Debian packages are looked up by their source package.
      if (c.ecosystem.startsWith('Debian')) return { ...pkg, name: `${c.name}-common`, sourceName: c.name, sourceVersion: version, path: '/var/lib/dpkg/status' };
      return pkg;
    };
    // A shared pool, as in a real fleet: most images hold some of the same packages. The
    // corpus's few npm and Debian advisories are all in it, at versions below their fixes too.
    const pool: InstalledPackage[] = candidates.filter((c) => c.ecosystem === 'npm' || c.ecosystem.startsWith('Debian'))
      .flatMap((c) => [...c.versions, c.ecosystem === 'npm' ? '1.0.0' : '1.0-1'].map((v) => installed(c, v)));
    while (pool.length < 400) {
      const c = pick(candidates);
      pool.push(installed(c, rand() < 0.7 ? pick(c.versions) : `${Math.floor(rand() * 30)}.${Math.floor(rand() * 9)}.0`));
    }
    return Array.from({ length: digests }, (_, d) => {
      const own = Array.from({ length: 20 + Math.floor(rand() * 120) }, (_, k) => {
        const p = pick(pool);
        // The same package at another place (another venv, layer) or with no layer at all.
        return { ...p, path: `${p.path}/${k % 3}`, ...(k % 5 === 0 ? {} : { layer: layer(1 + (k % 7)) }) };
      });
      const digest = `sha256:${(1000 + d).toString(16).padStart(64, '0')}`;
      const coverage: Finding[] = d % 4 === 0 ? [{ id: 'PORTCULLIS-UNSCANNED-OS', aliases: [], kind: 'coverage', severity: 'unknown', title: 'OS packages not scanned: test', links: [] }] : [];
      const hardening: Finding[] = [{ id: 'PCS-ROOT-USER', aliases: [], kind: 'misconfiguration', severity: 'medium', title: 'runs as root', links: [] }];
      // Every third digest is a two-platform index: half its packages shared, half per platform.
      const images: PlatformInventory[] = d % 3 === 0
        ? [
          { manifestDigest: layer(9000 + d), platform: 'linux/amd64', packages: own, coverage, hardening },
          { manifestDigest: layer(9500 + d), platform: 'linux/arm64', packages: own.map((p, k) => (k % 2 ? { ...p, layer: layer(100 + d) } : p)), coverage: [], hardening },
        ]
        : [{ manifestDigest: layer(9000 + d), packages: own, coverage, hardening }];
      return { scanner: 'builtin', digest, repository: `quarantine/app${d}`, scannedAt: '2026-12-01T10:00:00.000Z', dbVersion: 'osv-old', images };
    });
  }

  const store = new RedisInventoryStore(null as never, 'unit', { registryHost: 'registry.internal:5000' });

  it('gives each digest the findings matching it alone through its SBOM gives, in the same order and text', () => {
    const digests = fleet(60);
    const memo = new RematchMemo(db);
    let vulnerabilities = 0;
    for (const inv of digests) {
      const stored = JSON.parse(JSON.stringify(store.toStored(inv)));
      // Before: the SBOM parsed, each digest matched on its own against the database.
      const alone = matchInventory(platformInventories(stored), db);
      // Now: the compact form, one memo for the whole pass.
      const compact = fromCompact(JSON.parse(JSON.stringify(toCompact(platformInventories(stored)))));
      const dedup = matchInventory(compact, memo);
      expect(JSON.stringify(dedup)).toBe(JSON.stringify(alone));
      vulnerabilities += alone.filter((f) => f.kind === 'vulnerability').length;
    }
    // The comparison is not between empty lists: the corpus matches many of these packages.
    expect(vulnerabilities).toBeGreaterThan(500);
    expect(new Set(digests.flatMap((d) => matchInventory(d.images, db).map((f) => f.ecosystem?.split(':')[0])))).toEqual(new Set([undefined, 'PyPI', 'Go', 'npm', 'Debian']));
  });

  it('reads back from the compact form exactly the packages the SBOM gives, shared rows and all', () => {
    for (const inv of fleet(12)) {
      const fromSbom = platformInventories(JSON.parse(JSON.stringify(store.toStored(inv))));
      const compact = fromCompact(JSON.parse(JSON.stringify(toCompact(fromSbom))));
      expect(compact).toEqual(fromSbom);
      // Same key order too (the report text depends on it).
      expect(JSON.stringify(compact)).toBe(JSON.stringify(fromSbom));
    }
  });

  it('a memo answer is not shared between two places: changing one finding leaves the next package\'s alone', () => {
    const memo = new RematchMemo(db);
    const c = candidates.find((x) => x.ecosystem === 'PyPI' && db.findingsFor({ name: x.name, version: x.versions[0]!, ecosystem: 'PyPI', path: '/a' }).length > 0)!;
    const a = memo.findingsFor({ name: c.name, version: c.versions[0]!, ecosystem: 'PyPI', path: '/a', layer: layer(1) });
    a[0]!.title = 'changed by a caller';
    const b = memo.findingsFor({ name: c.name, version: c.versions[0]!, ecosystem: 'PyPI', path: '/b' });
    expect(b[0]!.title).not.toBe('changed by a caller');
    expect(b[0]).toMatchObject({ path: '/b' });
    expect(b[0]!.layer).toBeUndefined();
  });

  it('refuses a compact record it did not write (the store then reads the SBOM instead)', () => {
    const good = JSON.parse(JSON.stringify(toCompact(fleet(1)[0]!.images)));
    expect(compactInventorySchema.safeParse(good).success).toBe(true);
    for (const bad of [
      { ...good, name: [...good.name, 42] },
      { ...good, version: good.version.slice(1) },
      { ...good, layer: good.layer.map(() => good.dict.length) },
      { ...good, ecosystem: good.ecosystem.map(() => -1) },
      { ...good, images: [{ ...good.images[0], rows: [good.name.length] }] },
      { ...good, v: 2 },
    ]) expect(compactInventorySchema.safeParse(bad).success).toBe(false);
  });
});
