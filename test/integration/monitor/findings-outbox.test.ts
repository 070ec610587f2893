/**
 * No `findings.updated` lost (issue 13), on the real Redis: a report whose findings changed is
 * written with the event it owes (src/monitor/findings-outbox.ts). A re-match pass that fails
 * between its writes and its publish (a Redis fault renewing the inventories) leaves the events
 * owed, and its retry, which finds those reports current, publishes them first; a rescan that
 * dies before publishing leaves its event to the health sweep, which puts the approval at risk.
 * A record is settled only if it is still the one published, so a writer finishing never drops
 * the event of a newer report; many writers at once leave every digest announced after its last
 * change; the normal path publishes each event once and leaves nothing owed.
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import type { DomainEvent } from '../../../src/intake/events';
import type { ApprovedDigest } from '../../../src/monitor/approved-digests';
import { FINDINGS_OUTBOX_GRACE_MS, FindingsOutbox, findingsOutboxKey } from '../../../src/monitor/findings-outbox';
import { RedisInventoryStore } from '../../../src/monitor/inventory-store';
import { RematchService } from '../../../src/monitor/rematch';
import { RedisRematchState } from '../../../src/monitor/rematch-state';
import { storeRescan, type RescanSink } from '../../../src/monitor/rescan-store';
import { HealthSweep } from '../../../src/monitor/sweep';
import type { ScannedInventory } from '../../../src/scanners/builtin/adapter';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { dbOf, digestOf, pypiFleet } from '../../harness/pypi-fleet';
import { loadRecords } from '../../../src/scanners/osv/loader';
import type { OsvRecord } from '../../../src/scanners/osv/schema';
import type { Finding, ScanReport } from '../../../src/scanners/types';
import { RedisScanResultStore } from '../../../src/store';
import { realworld } from '../../harness/realworld';
import { rng } from '../../harness/seeded';
import { startTestApp } from '../../harness/app';
import { services, uniqueName } from '../../harness/services';
import { healthWorld, scanReport } from './health-world';

jest.setTimeout(120_000);

const logger = createLogger({ level: 'silent' });

/** `count` single-image digests of PyPI packages at versions the real advisories list (each has findings under them). */
function fleet(records: readonly OsvRecord[], count: number): ScannedInventory[] {
  return pypiFleet(records, count, { base: 7000, manifestBase: 11000, repositoryPrefix: 'quarantine/outbox', slice: (d) => [(d * 7) % 400, ((d * 7) % 400) + 25] });
}

/** A Harbor report of `findings` at data `dbVersion`. */
const harbor = (findings: Finding[], dbVersion: string): ScanReport => ({ ...scanReport(findings, new Date()), scanner: 'harbor', dbVersion });

const vuln = (id: string): Finding => ({
  id, aliases: [], kind: 'vulnerability', package: 'openssl', installedVersion: '3.0.1', fixedVersion: '3.0.9', severity: 'critical', title: id, links: [],
});

/**
 * An approved digest whose health is `ok`, then a rescan that writes a new finding for it and
 * dies as it starts publishing (the bus throws): the report is stored, its event owed.
 */
async function afterDyingRescan(world: ReturnType<typeof healthWorld>, digest: string) {
  world.bus.subscribe(world.health.subscriber());
  const a = await world.approved({ team: 'payments', digest });
  await world.health.evaluate(a);
  const outbox = new FindingsOutbox(world.redis, world.prefix, { now: () => world.clock.now().getTime() });
  const approved: ApprovedDigest = { digest, approvals: [{ team: 'payments', repository: a.image }] };
  world.clock.advance(1000);
  const report: ScanReport = scanReport([vuln('CVE-2026-4242')], world.clock.now());
  const dying: RescanSink = { outbox, events: { publish: async () => { throw new Error('worker killed'); } } };
  await expect(storeRescan(dying, approved, report, async () => 'v2')).rejects.toThrow('worker killed');
  return { a, outbox, approved, report };
}

describe('findings.updated outbox', () => {
  let redis: Redis;
  let records: OsvRecord[];

  beforeAll(async () => {
    redis = new Redis(services().redis.url);
    records = [];
    await loadRecords(realworld('osv', 'PyPI'), (r) => records.push(r));
  });
  afterAll(() => { redis.disconnect(); });

  /** A re-match service on its own prefix over `count` approved digests (two approvals each); `failTouch` fails the next inventory renewal. */
  async function rematchSide(count: number) {
    const prefix = uniqueName('outbox');
    const inventories = new RedisInventoryStore(redis, prefix, { registryHost: 'registry.internal:5000' });
    const scanned = fleet(records, count);
    for (const inv of scanned) expect(await inventories.put(inventories.toStored(inv))).toBe(true);
    const approved: ApprovedDigest[] = scanned.map((i) => ({ digest: i.digest, approvals: [{ team: 'payments', repository: i.repository }, { team: 'cards', repository: i.repository }] }));
    const state = new RedisRematchState(redis, prefix);
    let failures = 0;
    // The renewal of a batch's inventories runs between its report writes and its publish.
    const faulty = Object.assign(Object.create(inventories) as RedisInventoryStore, {
      touchAll: async (scanner: string, digests: readonly string[]) => {
        if (failures > 0) { failures -= 1; throw new Error('READONLY You can\'t write against a read only replica.'); }
        return inventories.touchAll(scanner, digests);
      },
    });
    const published: DomainEvent[] = [];
    const service = new RematchService({ inventories: faulty, state, approved: { list: async () => approved }, events: { publish: async (e) => { published.push(e); } }, logger });
    const scanner = (version: string, db: OsvDatabase) => ({ name: 'builtin', vulnerabilityData: async () => ({ version, db }) });
    return { prefix, service, state, approved, published, scanner, failNextTouch: () => { failures = 1; } };
  }

  const keysOf = (events: readonly DomainEvent[]): string[] => events.map((e) => `${String(e.details.team)} ${String(e.details.digest)}`).sort();
  const everyApproval = (approved: readonly ApprovedDigest[]): string[] => approved.flatMap((a) => a.approvals.map((x) => `${x.team} ${a.digest}`)).sort();

  it.each([
    ['delta', {}],
    ['full', { full: true }],
  ] as const)('a %s pass failing between its writes and its publish: its retry publishes every owed event once', async (_mode, options) => {
    const side = await rematchSide(45);
    // Yesterday's data had no advisory: no findings stored (the first reports are announced).
    await side.service.rematchAll(side.scanner('osv-yesterday', new OsvDatabase()));
    expect(keysOf(side.published)).toEqual(everyApproval(side.approved));
    side.published.length = 0;
    const today = side.scanner('osv-today', dbOf(records));
    side.failNextTouch();
    await expect(side.service.rematchAll(today, options)).rejects.toThrow(/READONLY/);
    // The first batch's reports are at today's data, with findings; nothing was published.
    const first = side.approved.slice(0, 32).map((a) => a.digest);
    const stored = await side.state.reports('builtin', first);
    for (const r of stored) expect(JSON.parse(r!.text)).toMatchObject({ dbVersion: 'osv-today', findings: expect.arrayContaining([expect.objectContaining({ kind: 'vulnerability' })]) });
    expect(side.published).toEqual([]);
    expect(await redis.hlen(findingsOutboxKey(side.prefix))).toBe(32);

    // The retry (the next sync: the pass is behind) sees the first batch current, yet announces it.
    expect(await side.service.behind('builtin', 'osv-today')).toBe(true);
    const retry = await side.service.rematchAll(today, options);
    expect(retry.digests).toBe(45);
    expect(keysOf(side.published)).toEqual(everyApproval(side.approved));
    // Owed events come first, each with the id its record was written with.
    expect(side.published.slice(0, 64).map((e) => e.details.digest).sort()).toEqual(first.flatMap((d) => [d, d]).sort());
    // One id per approval of each record (two teams each): stable, never shared by two teams.
    expect(new Set(side.published.map((e) => e.details.eventId)).size).toBe(90);
    expect(await redis.exists(findingsOutboxKey(side.prefix))).toBe(0);
  });

  it('the normal path publishes each event once and leaves nothing owed; a pass over unchanged findings publishes none', async () => {
    const side = await rematchSide(40);
    await side.service.rematchAll(side.scanner('osv-yesterday', new OsvDatabase()));
    side.published.length = 0;
    const r = await side.service.rematchAll(side.scanner('osv-today', dbOf(records)));
    expect(r.changed).toBe(40);
    expect(keysOf(side.published)).toEqual(everyApproval(side.approved));
    expect(side.published.every((e) => e.type === 'findings.updated' && e.details.dbVersion === 'osv-today' && typeof e.details.eventId === 'string')).toBe(true);
    expect(await redis.exists(findingsOutboxKey(side.prefix))).toBe(0);
    side.published.length = 0;
    // The same advisories under a new version: reports edited in place, nothing changed, nothing owed.
    const again = await side.service.rematchAll(side.scanner('osv-tomorrow', dbOf(records)));
    expect({ rematched: again.rematched, changed: again.changed }).toEqual({ rematched: 40, changed: 0 });
    expect(side.published).toEqual([]);
    expect(await side.state.outbox.flush({ publish: async (e) => { side.published.push(e); } }, { before: Date.now() + 3_600_000 })).toBe(0);
    expect(side.published).toEqual([]);
  });

  it('a rescan dying before its publish, never retried: the health sweep publishes the owed event after the grace, and the approval is at risk', async () => {
    const world = healthWorld('outbox-sweep', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' });
    try {
      const { a, outbox } = await afterDyingRescan(world, `sha256:${'c'.repeat(64)}`);
      expect((await world.health.of([a]))[0]?.state).toBe('ok');

      const sweep = new HealthSweep(world.health, (before) => outbox.flush(world.bus, { before }));
      // Within the grace its writer may still be publishing: left alone.
      expect((await sweep.run()).republished).toBe(0);
      world.clock.advance(FINDINGS_OUTBOX_GRACE_MS + 1000);
      expect((await sweep.run()).republished).toBe(1);
      expect((await world.health.of([a]))[0]).toMatchObject({ state: 'at_risk', blocking: [expect.objectContaining({ id: 'CVE-2026-4242' })] });
      expect(world.events.filter((e) => e.type === 'approval.at_risk')).toHaveLength(1);
      const audited = await world.audit.list(0, 100);
      expect(audited.filter((e) => e.action === 'findings.updated')).toHaveLength(1);
      expect(audited.filter((e) => e.action === 'approval.at_risk')).toHaveLength(1);
      // Settled: the next sweep publishes nothing, and a repeat of the event changes nothing.
      expect((await sweep.run()).republished).toBe(0);
      const [repeat] = world.events.filter((e) => e.type === 'findings.updated');
      await world.bus.publish(repeat!);
      expect(world.events.filter((e) => e.type === 'approval.at_risk')).toHaveLength(1);
      expect((await world.health.of([a]))[0]?.state).toBe('at_risk');
    } finally {
      await world.close();
    }
  });

  it('a rescan dying before its publish, then retried: the retry finds the same findings stored and publishes the event still owed, once', async () => {
    const world = healthWorld('outbox-retry', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' });
    try {
      const digest = `sha256:${'d'.repeat(64)}`;
      const { a, outbox, approved, report } = await afterDyingRescan(world, digest);
      expect(await outbox.owedFor(report.scanner, digest)).toMatchObject({ digest, scanner: report.scanner });
      // The job's retry, within the grace: the findings are those stored, but the event is owed.
      const live: RescanSink = { outbox, events: world.bus };
      expect(await storeRescan(live, approved, report, async () => 'v2')).toBe('same');
      expect((await world.health.of([a]))[0]).toMatchObject({ state: 'at_risk', blocking: [expect.objectContaining({ id: 'CVE-2026-4242' })] });
      expect(world.events.filter((e) => e.type === 'findings.updated')).toHaveLength(1);
      expect(await outbox.owedFor(report.scanner, digest)).toBeNull();
      // Settled: another run of the same rescan, and the sweep after the grace, publish nothing more.
      expect(await storeRescan(live, approved, report, async () => 'v2')).toBe('same');
      world.clock.advance(FINDINGS_OUTBOX_GRACE_MS + 1000);
      expect((await new HealthSweep(world.health, (before) => outbox.flush(world.bus, { before })).run()).republished).toBe(0);
      expect(world.events.filter((e) => e.type === 'findings.updated')).toHaveLength(1);
      expect(world.events.filter((e) => e.type === 'approval.at_risk')).toHaveLength(1);
    } finally {
      await world.close();
    }
  });

  it('a retried rescan whose inherited event fails to publish again still completes (same), logs it, and leaves it owed for the sweep', async () => {
    const prefix = uniqueName('outbox-stuck');
    const outbox = new FindingsOutbox(redis, prefix);
    const approved: ApprovedDigest = { digest: digestOf(7), approvals: [{ team: 'payments', repository: 'app' }] };
    const report = harbor([vuln('CVE-A')], 'v2');
    const failing = { publish: async () => { throw new Error('approval unreadable'); } };
    await expect(storeRescan({ outbox, events: failing }, approved, report, async () => 'v2')).rejects.toThrow('approval unreadable');
    const errors: unknown[] = [];
    // The next run over the digest: the same findings; the owed event fails again, the run goes on.
    expect(await storeRescan({ outbox, events: failing, logger: { error: (o: unknown) => { errors.push(o); } } }, approved, report, async () => 'v2')).toBe('same');
    expect(errors).toEqual([expect.objectContaining({ scanner: 'harbor', digest: approved.digest })]);
    expect((await outbox.pending()).map((r) => r.digest)).toEqual([approved.digest]);
    const published: DomainEvent[] = [];
    expect(await outbox.flush({ publish: async (e) => { published.push(e); } })).toBe(1);
    expect(published).toHaveLength(1);
  });

  it('a writer finishing its publish never settles the record of a newer report written meanwhile', async () => {
    const prefix = uniqueName('outbox-settle');
    const outbox = new FindingsOutbox(redis, prefix);
    const approved: ApprovedDigest = { digest: digestOf(1), approvals: [{ team: 'payments', repository: 'app' }] };
    const published: DomainEvent[] = [];
    const dead = { publish: async () => { throw new Error('worker killed'); } };
    // While the first writer publishes, a second stores a newer report, and dies before publishing.
    const racing = {
      publish: async (e: DomainEvent) => {
        published.push(e);
        await expect(storeRescan({ outbox, events: dead }, approved, harbor([vuln('CVE-B')], 'v3'), async () => 'v3')).rejects.toThrow('worker killed');
      },
    };
    expect(await storeRescan({ outbox, events: racing }, approved, harbor([vuln('CVE-A')], 'v2'), async () => 'v2')).toBe('changed');
    expect(published.map((e) => e.details.dbVersion)).toEqual(['v2']);
    const owed = await outbox.pending();
    expect(owed.map((r) => [r.scanner, r.digest, r.dbVersion])).toEqual([['harbor', approved.digest, 'v3']]);
    expect(await outbox.flush({ publish: async (e) => { published.push(e); } })).toBe(1);
    expect(published.map((e) => e.details.dbVersion)).toEqual(['v2', 'v3']);
    expect(await redis.exists(findingsOutboxKey(prefix))).toBe(0);
  });

  it('a rescan whose report was compared with one replaced meanwhile compares again: its change back is announced', async () => {
    const prefix = uniqueName('outbox-cas');
    const outbox = new FindingsOutbox(redis, prefix);
    const results = new RedisScanResultStore(redis, prefix);
    const approved: ApprovedDigest = { digest: digestOf(2), approvals: [{ team: 'payments', repository: 'app' }] };
    await results.put(approved.digest, harbor([vuln('CVE-0')], 'v0'));
    const seen: string[] = [];
    const bus = { publish: async (e: DomainEvent) => { seen.push((await results.get('harbor', approved.digest))!.findings.map((f) => f.id).join(',')); } };
    // Between the first rescan's read (CVE-0: the same as its own) and its write, another stores CVE-1 and announces it.
    let paused = false;
    const slow: RescanSink['outbox'] = {
      current: async (scanner, digest) => {
        const r = await outbox.current(scanner, digest);
        if (!paused) {
          paused = true;
          expect(await storeRescan({ outbox, events: bus }, approved, harbor([vuln('CVE-1')], 'v1'), async () => 'v1')).toBe('changed');
        }
        return r;
      },
      record: (a, scanner, v) => outbox.record(a, scanner, v), storeReport: (...a) => outbox.storeReport(...a), settle: (r) => outbox.settle(r),
      owedFor: (scanner, digest) => outbox.owedFor(scanner, digest),
    };
    expect(await storeRescan({ outbox: slow, events: bus }, approved, harbor([vuln('CVE-0')], 'v2'), async () => 'v2')).toBe('changed');
    expect((await results.get('harbor', approved.digest))?.dbVersion).toBe('v2');
    expect(seen).toEqual(['CVE-1', 'CVE-0']);
  });

  it('many writers at once, some dying before they publish: after one flush, each digest was last announced with its stored findings', async () => {
    const prefix = uniqueName('outbox-many');
    const outbox = new FindingsOutbox(redis, prefix);
    const results = new RedisScanResultStore(redis, prefix);
    const digests = Array.from({ length: 6 }, (_, i) => digestOf(100 + i));
    const ids = (r: ScanReport | null): string => (r?.findings ?? []).map((f) => f.id).join(',');
    // Every digest has a report already: a writer judges "changed" against it.
    for (const d of digests) await results.put(d, harbor([vuln('CVE-0')], 'v0'));
    // What a health evaluation would see: the stored findings when the event reaches the bus.
    const seen = new Map<string, string>();
    const bus = { publish: async (e: DomainEvent) => { seen.set(String(e.details.digest), ids(await results.get('harbor', String(e.details.digest)))); } };
    // Writers interleave: each waits a few turns of the loop (seeded) between its read and its write.
    const rand = rng(1313);
    const turns = async (): Promise<void> => { for (let k = Math.floor(rand() * 6); k > 0; k--) await new Promise((r) => setImmediate(r)); };
    const interleaved: RescanSink['outbox'] = {
      current: async (scanner, digest) => { const r = await outbox.current(scanner, digest); await turns(); return r; },
      record: (a, scanner, v) => outbox.record(a, scanner, v),
      storeReport: (...a) => outbox.storeReport(...a),
      settle: (r) => outbox.settle(r),
      owedFor: (scanner, digest) => outbox.owedFor(scanner, digest),
    };
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, w) => {
      const digest = digests[w % digests.length]!;
      const approved: ApprovedDigest = { digest, approvals: [{ team: 'payments', repository: 'app' }] };
      const events = w % 3 === 0 ? { publish: async () => { throw new Error('worker killed'); } } : bus;
      return storeRescan({ outbox: interleaved, events }, approved, harbor([vuln(`CVE-${w % 4}`)], `v${w}`), async () => `v${w}`)
        .catch((err: Error) => (err.message === 'worker killed' ? 'died' : err.message));
    }));
    expect(outcomes.filter((o) => !['same', 'changed', 'died', 'superseded'].includes(o))).toEqual([]);
    expect(outcomes.filter((o) => o === 'died').length).toBeGreaterThan(0);
    // At most one record per digest, however many writers died.
    expect((await outbox.pending()).length).toBeLessThanOrEqual(digests.length);
    await outbox.flush(bus);
    expect(await redis.exists(findingsOutboxKey(prefix))).toBe(0);
    for (const d of digests) {
      const stored = ids(await results.get('harbor', d));
      // A digest whose findings never changed owes nothing; any other was announced with what it holds now.
      if (stored !== 'CVE-0' || seen.has(d)) expect([d, seen.get(d)]).toEqual([d, stored]);
    }
    expect(seen.size).toBeGreaterThan(0);
  });
});

describe('findings.updated outbox in the service', () => {
  it('the health sweep publishes an event owed for more than the grace, once', async () => {
    // No in-process worker: its own scheduled sweep could publish the record before this one does.
    const app = await startTestApp({ worker: false });
    try {
      const events: DomainEvent[] = [];
      app.services.events.subscribe((e) => { if (e.type === 'findings.updated') events.push(e); });
      // A rescan that stored its report two minutes ago and died before publishing.
      const outbox = new FindingsOutbox(app.redis, app.config.redis.prefix, { now: () => Date.now() - 2 * FINDINGS_OUTBOX_GRACE_MS });
      const owed = outbox.record({ digest: digestOf(3), approvals: [{ team: 'payments', repository: 'docker.io/library/nginx' }] }, 'harbor', 'v9');
      expect(await outbox.storeReport(digestOf(3), harbor([vuln('CVE-OWED')], 'v9'), owed, null)).toBe(true);
      expect((await app.services.monitor.sweep.run()).republished).toBe(1);
      expect(events.map((e) => e.details)).toEqual([expect.objectContaining({ team: 'payments', digest: digestOf(3), scanner: 'harbor', dbVersion: 'v9', eventId: `${owed.id}:payments/docker.io/library/nginx` })]);
      expect((await app.services.monitor.sweep.run()).republished).toBe(0);
      expect(events).toHaveLength(1);
    } finally {
      await app.stop();
    }
  });
});
