/**
 * The re-match against reports stored while it runs, on the real Redis: a rescan (or a scan)
 * whose report lands between the re-match's read of a report and its write. A full re-match
 * writes a whole report only if the stored one is still the text it compared with
 * (RedisRematchState.replaceIf): a report at the new data stays as it is; one at older data is
 * read again and re-matched. Also: a digest whose report was current at the first (full) pass
 * is known to the memo, so the next data change edits its report instead of re-matching it whole.
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import type { ApprovedDigest } from '../../../src/monitor/approved-digests';
import { RedisInventoryStore } from '../../../src/monitor/inventory-store';
import { RematchService } from '../../../src/monitor/rematch';
import { RedisRematchState } from '../../../src/monitor/rematch-state';
import type { ScannedInventory } from '../../../src/scanners/builtin/adapter';
import { dbOf, pypiFleet } from '../../harness/pypi-fleet';
import { loadRecords } from '../../../src/scanners/osv/loader';
import type { OsvRecord } from '../../../src/scanners/osv/schema';
import { summarize, type ScanReport } from '../../../src/scanners/types';
import { RedisScanResultStore } from '../../../src/store';
import { changeRecords } from '../../harness/osv-changes';
import { realworld } from '../../harness/realworld';
import { rng } from '../../harness/seeded';
import { services, uniqueName } from '../../harness/services';

jest.setTimeout(120_000);

/** `count` single-image digests of PyPI packages at versions the real advisories list (each has findings). */
function fleet(records: readonly OsvRecord[], count: number): ScannedInventory[] {
  return pypiFleet(records, count, { base: 5000, manifestBase: 9000, repositoryPrefix: 'quarantine/race', slice: (d) => [d * 40, d * 40 + 40] });
}

describe('re-match and reports stored meanwhile', () => {
  let redis: Redis;
  let writer: Redis;
  let records: OsvRecord[];

  beforeAll(async () => {
    redis = new Redis(services().redis.url);
    // The other writer (a rescan in another worker) on its own connection.
    writer = new Redis(services().redis.url);
    records = [];
    await loadRecords(realworld('osv', 'PyPI'), (r) => records.push(r));
  });
  afterAll(() => { redis.disconnect(); writer.disconnect(); });

  /** A re-match service on its own prefix whose report reads run `meanwhile` after reading (once per digest at most). */
  async function setup(count: number, meanwhile: (digests: string[]) => Promise<void>) {
    const prefix = uniqueName('race');
    const inventories = new RedisInventoryStore(redis, prefix, { registryHost: 'registry.internal:5000' });
    const scanned = fleet(records, count);
    for (const inv of scanned) expect(await inventories.put(inventories.toStored(inv))).toBe(true);
    const approved: ApprovedDigest[] = scanned.map((i) => ({ digest: i.digest, approvals: [{ team: 'payments', repository: i.repository }] }));
    const state = new RedisRematchState(redis, prefix);
    let armed = false;
    const done = new Set<string>();
    const racing = Object.assign(Object.create(state) as RedisRematchState, {
      reports: async (scanner: string, digests: readonly string[]) => {
        const texts = await state.reports(scanner, digests);
        const fresh = digests.filter((d) => !done.has(d));
        if (armed && fresh.length > 0) {
          for (const d of fresh) done.add(d);
          await meanwhile(fresh);
        }
        return texts;
      },
    });
    const published: string[] = [];
    const service = new RematchService({
      inventories, state: racing, approved: { list: async () => approved },
      events: { publish: async (e) => { published.push(String(e.details?.digest)); } }, logger: createLogger({ level: 'silent' }),
    });
    return { prefix, service, state, approved, published, arm: () => { armed = true; }, results: new RedisScanResultStore(writer, prefix) };
  }

  const report = (version: string, finishedAt: string): ScanReport => ({
    scanner: 'builtin', status: 'succeeded', summary: summarize([]), findings: [], startedAt: finishedAt, finishedAt, dbVersion: version,
  });

  it('a full re-match leaves a report at the new data that a rescan stored after its read', async () => {
    const db = dbOf(records);
    let side!: Awaited<ReturnType<typeof setup>>;
    side = await setup(6, async (digests) => {
      // Every digest's rescan lands at once, each on the other connection.
      await Promise.all(digests.map((d) => side.results.put(d, report('osv-today', '2099-01-01T00:00:00.000Z'))));
    });
    await side.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-yesterday', db }) });
    side.arm();
    const r = await side.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-today', db }) }, { full: true });
    const texts = (await side.state.reports('builtin', side.approved.map((a) => a.digest))).map((r) => r?.text);
    for (const text of texts) expect(JSON.parse(text!)).toMatchObject({ finishedAt: '2099-01-01T00:00:00.000Z', dbVersion: 'osv-today', findings: [] });
    expect({ rematched: r.rematched, changed: r.changed }).toEqual({ rematched: 0, changed: 0 });
  });

  it('a full re-match reads again, and re-matches, a report at older data that a scan stored after its read', async () => {
    const db = dbOf(records);
    let side!: Awaited<ReturnType<typeof setup>>;
    side = await setup(6, async (digests) => {
      await Promise.all(digests.map((d) => side.results.put(d, report('osv-older', '2099-01-01T00:00:00.000Z'))));
    });
    await side.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-yesterday', db }) });
    const before = (await side.state.reports('builtin', side.approved.map((a) => a.digest))).map((r) => r?.text);
    side.published.length = 0;
    side.arm();
    const r = await side.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-today', db }) }, { full: true });
    const after = (await side.state.reports('builtin', side.approved.map((a) => a.digest))).map((r) => r?.text);
    after.forEach((text, i) => {
      const stored = JSON.parse(text!) as ScanReport;
      expect(stored.dbVersion).toBe('osv-today');
      expect(stored.findings.length).toBeGreaterThan(0);
      expect(stored.findings).toEqual((JSON.parse(before[i]!) as ScanReport).findings);
    });
    // Compared with what was stored when it wrote (no findings): changed, and published.
    expect({ rematched: r.rematched, changed: r.changed }).toEqual({ rematched: 6, changed: 6 });
    expect([...side.published].sort()).toEqual(side.approved.map((a) => a.digest).sort());
  });

  it('a digest whose report was current at the first pass is edited, not re-matched whole, at the next change', async () => {
    const yesterday = dbOf(records);
    const yesterdays = { name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-yesterday', db: yesterday }) };
    // The report a scan at yesterday's data stores for the first digest (what the matcher gives).
    const scan = await setup(4, async () => undefined);
    await scan.service.rematchAll(yesterdays);
    const first = scan.approved[0]!.digest;
    const [stored] = await scan.state.reports('builtin', [first]);
    // Another deployment's first pass finds that report stored already, at its data: current.
    const side = await setup(4, async () => undefined);
    await writer.set(`${side.prefix}:scan:builtin:${first}`, stored!.text);
    const firstPass = await side.service.rematchAll(yesterdays);
    expect({ mode: firstPass.mode, rematched: firstPass.rematched }).toEqual({ mode: 'full', rematched: 3 });
    const today = changeRecords(records, [{ ecosystem: 'PyPI', kind: 'metadata', count: 20 }], rng(77), 'race').records;
    const next = await side.service.rematchAll({ name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-today', db: dbOf(today) }) });
    expect({ mode: next.mode, digests: next.digests, rematched: next.rematched, whole: next.whole }).toEqual({ mode: 'delta', digests: 4, rematched: 4, whole: 0 });
  });
});
