/**
 * The delta re-match (only what a data change touched is matched again; a report whose
 * findings did not change keeps them) must store exactly what a full re-match stores, and
 * publish for exactly the same digests. On the real Redis, over a fleet built from the real
 * OSV corpus (PyPI, Go, npm, Debian; multi-platform digests, Debian source packages, coverage
 * findings), through rounds of randomized data changes (test/harness/osv-changes.ts): one
 * prefix is re-matched the way a sync does it, the other fully, and their stored reports are
 * compared text for text (but for the times). Also: the delta falls back to a full re-match
 * when it cannot know the change (no earlier pass recorded, another matcher).
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import type { ApprovedDigest } from '../../../src/monitor/approved-digests';
import { RedisInventoryStore } from '../../../src/monitor/inventory-store';
import { RematchService, type RematchResult } from '../../../src/monitor/rematch';
import { RedisRematchState } from '../../../src/monitor/rematch-state';
import { storeKeys } from '../../../src/store';
import type { ScannedInventory } from '../../../src/scanners/builtin/adapter';
import type { PlatformInventory } from '../../../src/scanners/builtin/match';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { loadRecords } from '../../../src/scanners/osv/loader';
import type { OsvRecord } from '../../../src/scanners/osv/schema';
import type { InstalledPackage } from '../../../src/scanners/packages';
import type { Finding } from '../../../src/scanners/types';
import { changeRecords, CHANGE_KINDS, type ChangePlan } from '../../harness/osv-changes';
import { realworld } from '../../harness/realworld';
import { rng } from '../../harness/seeded';
import { services, uniqueName } from '../../harness/services';

jest.setTimeout(600_000);

const layer = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

function dbOf(records: readonly OsvRecord[]): OsvDatabase {
  const db = new OsvDatabase();
  for (const r of records) db.add(r);
  return db;
}

function fleet(records: readonly OsvRecord[], digests: number, rand: () => number): ScannedInventory[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const pool: InstalledPackage[] = [];
  for (const r of records) {
    for (const a of r.affected ?? []) {
      const versions = [...(a.versions ?? []).slice(-3), ...(a.ranges ?? []).flatMap((g) => g.events.map((e) => Object.values(e)[0]!)).filter((v) => v !== '0'), '99.0.0'];
      const { ecosystem, name } = a.package;
      for (const version of versions.slice(0, 4)) {
        pool.push(ecosystem.startsWith('Debian')
          ? { name: `${name}-common`, sourceName: name, sourceVersion: version, version, ecosystem, path: '/var/lib/dpkg/status' }
          : { name, version, ecosystem, path: `/srv/${name}/${version}` });
      }
    }
  }
  return Array.from({ length: digests }, (_, d) => {
    const own = Array.from({ length: 30 + Math.floor(rand() * 150) }, (_, k) => {
      const p = pick(pool);
      return { ...p, path: `${p.path}/${k % 3}`, ...(k % 5 === 0 ? {} : { layer: layer(1 + (k % 7)) }) };
    });
    const coverage: Finding[] = d % 4 === 0 ? [{ id: 'PORTCULLIS-UNSCANNED-OS', aliases: [], kind: 'coverage', severity: 'unknown', title: 'OS packages not scanned: test', links: [] }] : [];
    const hardening: Finding[] = [{ id: 'PCS-ROOT-USER', aliases: [], kind: 'misconfiguration', severity: 'medium', title: 'runs as root', links: [] }];
    const images: PlatformInventory[] = d % 7 === 0
      ? [
        { manifestDigest: layer(9000 + d), platform: 'linux/amd64', packages: own, coverage, hardening },
        { manifestDigest: layer(9500 + d), platform: 'linux/arm64', packages: own.map((p, k) => (k % 2 ? { ...p, layer: layer(100 + d) } : p)), coverage: [], hardening },
      ]
      : [{ manifestDigest: layer(9000 + d), packages: own, coverage, hardening }];
    return { scanner: 'builtin', digest: layer(1000 + d), repository: `quarantine/app${d}`, scannedAt: '2026-12-01T10:00:00.000Z', dbVersion: 'osv-seed', images };
  });
}

/** A rematch service on its own prefix, and the digests it published for. */
function side(redis: Redis, prefix: string, approved: ApprovedDigest[]) {
  const published: string[] = [];
  const state = new RedisRematchState(redis, prefix);
  const inventories = new RedisInventoryStore(redis, prefix, { registryHost: 'registry.internal:5000' });
  const service = new RematchService({
    inventories, state, approved: { list: async () => approved },
    events: { publish: async (e) => { published.push(String(e.details?.digest)); } }, logger: createLogger({ level: 'silent' }),
  });
  return { published, state, inventories, service, prefix };
}

/** A stored report's text without its times. */
const timeless = (text: string | null): string | null => text?.replace(/"startedAt":"[^"]*","finishedAt":"[^"]*"/, '') ?? null;

describe('delta re-match against a full re-match, on randomized data changes', () => {
  let redis: Redis;
  let records: OsvRecord[];

  beforeAll(async () => {
    redis = new Redis(services().redis.url);
    records = [];
    await loadRecords(realworld('osv'), (r) => records.push(r));
  });
  afterAll(() => redis.disconnect());

  it('stores the same reports and publishes for the same digests, round after round', async () => {
    const rand = rng(1313);
    const inventories = fleet(records, 40, rand);
    const approved: ApprovedDigest[] = inventories.map((i) => ({ digest: i.digest, approvals: [{ team: 'payments', repository: i.repository }] }));
    const delta = side(redis, uniqueName('delta'), approved);
    const full = side(redis, uniqueName('full'), approved);
    for (const s of [delta, full]) for (const inv of inventories) expect(await s.inventories.put(s.inventories.toStored(inv))).toBe(true);

    let data = records;
    let kept = 0;
    let changedDigests = 0;
    for (let round = 0; round < 3; round++) {
      if (round > 0) {
        // Every kind of change, a few records each, anywhere in the corpus (Go and PyPI mostly).
        // Round 1: changes no finding shows (every report keeps its findings); then every kind.
        const plan: ChangePlan[] = round === 1 ? [{ kind: 'metadata', count: 40 }] : CHANGE_KINDS.map((kind) => ({ kind, count: 2 + Math.floor(rand() * 6) }));
        if (round > 1) plan.push({ ecosystem: 'npm', kind: 'range', count: 1 }, { ecosystem: 'Debian', kind: 'title', count: 1 });
        data = changeRecords(data, plan, rand, `r${round}`).records;
      }
      const scanner = { name: 'builtin', vulnerabilityData: async () => ({ version: `osv-${round}`, db: dbOf(data) }) };
      for (const s of [delta, full]) s.published.length = 0;
      const d: RematchResult = await delta.service.rematchAll(scanner);
      const f: RematchResult = await full.service.rematchAll(scanner, { full: true });
      // The first pass has no earlier data recorded: a full re-match; every later one is a delta.
      expect(d.mode).toBe(round === 0 ? 'full' : 'delta');
      expect(f.mode).toBe('full');
      const [a, b] = await Promise.all([delta.state.reports('builtin', approved.map((x) => x.digest)), full.state.reports('builtin', approved.map((x) => x.digest))]);
      for (let i = 0; i < approved.length; i++) {
        expect(a[i]).not.toBeNull();
        expect(timeless(a[i]!.text)).toBe(timeless(b[i]!.text));
      }
      expect([...delta.published].sort()).toEqual([...full.published].sort());
      expect(d.changed).toBe(f.changed);
      if (round > 0) {
        // Edited in place, not re-matched whole: only the multi-platform digests are.
        expect(d.whole).toBe(approved.filter((_, i) => i % 7 === 0).length);
        kept += d.digests - d.rewritten;
        // Reports edited in place take their own size in Redis, not an append's doubled allocation.
        for (const x of approved) {
          const key = storeKeys(delta.prefix).scanResult('builtin', x.digest);
          const [bytes, length] = await Promise.all([redis.memory('USAGE', key), redis.strlen(key)]);
          expect(Number(bytes)).toBeLessThan(length * 1.25 + 256);
        }
        changedDigests += d.changed;
      }
    }
    // The comparison is not vacuous: the delta kept some reports and found changed findings in others.
    expect(kept).toBeGreaterThan(0);
    expect(changedDigests).toBeGreaterThan(0);
  });

  it('re-matches everything when the earlier pass is not known or was made by another matcher, and says why', async () => {
    const inventories = fleet(records, 6, rng(7));
    const approved: ApprovedDigest[] = inventories.map((i) => ({ digest: i.digest, approvals: [{ team: 'payments', repository: i.repository }] }));
    const s = side(redis, uniqueName('fallback'), approved);
    for (const inv of inventories) await s.inventories.put(s.inventories.toStored(inv));
    const db = dbOf(records);
    // No pass yet: the sync must re-match even if its data did not change (a pass that stopped halfway left no state).
    expect(await s.service.behind('builtin', 'osv-a')).toBe(true);
    const first = await s.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-a', db }) });
    expect(first).toMatchObject({ mode: 'full', fullReason: 'no earlier data version recorded', rematched: 6 });
    const kept = await s.state.get('builtin');
    expect(kept).toMatchObject({ dbVersion: 'osv-a' });
    expect(await s.service.behind('builtin', 'osv-a')).toBe(false);
    expect(await s.service.behind('builtin', 'osv-b')).toBe(true);
    // A state recorded by another matcher version is not diffed against.
    await s.state.put('builtin', { dbVersion: 'osv-a', manifest: kept!.manifest, kept: kept!.kept });
    await redis.set(`${s.prefix}:rematch:state:builtin`, await gzipJson({ ...kept!, matcher: 'builtin-0' }));
    expect(await s.service.behind('builtin', 'osv-a')).toBe(true);
    const next = await s.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-b', db: dbOf(changeRecords(records, [{ kind: 'title', count: 5 }], rng(3)).records) }) });
    expect(next.mode).toBe('full');
    expect(next.fullReason).toMatch(/matcher changed/);
    expect(next.rematched).toBe(6);
    // With a state of this matcher, the same kind of change is a delta.
    const after = await s.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-c', db }) });
    expect(after.mode).toBe('delta');
  });
});

async function gzipJson(value: unknown): Promise<Buffer> {
  const { gzipSync } = await import('node:zlib');
  return gzipSync(Buffer.from(JSON.stringify(value), 'utf8'));
}
