/**
 * A `findings.updated` whose handling failed stays owed (issue 13 outbox, review), on the real
 * Redis: the event is published `required` and approval health is critical for it, so a health
 * re-evaluation that fails (here: a Redis WRONGTYPE where the approval's images are read) or an
 * audit append that fails makes the writer throw with the record kept, instead of settling an
 * event nobody acted on; the sweep publishes it once the fault is gone. A digest whose
 * re-evaluation keeps failing neither hides the other digests' events nor stops the re-match's
 * next pass. A settle failing after a publish did never hides the publish's error.
 */
import type Redis from 'ioredis';
import { EventBus, type DomainEvent } from '../../../src/intake/events';
import { isAppError } from '../../../src/lib/errors';
import { createLogger, type Logger } from '../../../src/lib/logger';
import type { ApprovedDigest } from '../../../src/monitor/approved-digests';
import { FINDINGS_OUTBOX_GRACE_MS, FindingsOutbox, findingsOutboxKey } from '../../../src/monitor/findings-outbox';
import { RedisInventoryStore } from '../../../src/monitor/inventory-store';
import { RematchService } from '../../../src/monitor/rematch';
import { RedisRematchState } from '../../../src/monitor/rematch-state';
import { storeRescan } from '../../../src/monitor/rescan-store';
import { HealthSweep } from '../../../src/monitor/sweep';
import { healthSubscriber } from '../../../src/monitor/wiring';
import type { Finding, ScanReport } from '../../../src/scanners/types';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { loadRecords } from '../../../src/scanners/osv/loader';
import type { OsvRecord } from '../../../src/scanners/osv/schema';
import { storeKeys } from '../../../src/store';
import { startTestApp } from '../../harness/app';
import { realworld } from '../../harness/realworld';
import { healthWorld, scanReport } from './health-world';

jest.setTimeout(120_000);

const digestOf = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const vuln = (id: string): Finding => ({
  id, aliases: [], kind: 'vulnerability', package: 'openssl', installedVersion: '3.0.1', fixedVersion: '3.0.9', severity: 'critical', title: id, links: [],
});
const harbor = (findings: Finding[], dbVersion: string): ScanReport => ({ ...scanReport(findings, new Date()), scanner: 'harbor', dbVersion });

/** Makes `key` unreadable as what it holds (WRONGTYPE for every command on it) until the returned heal runs. */
async function breakKey(redis: Redis, key: string): Promise<() => Promise<void>> {
  const saved = `${key}:saved-by-test`;
  const existed = (await redis.exists(key)) === 1;
  if (existed) await redis.rename(key, saved);
  await redis.set(key, 'not what it should hold');
  return async () => {
    await redis.del(key);
    if (existed) await redis.rename(saved, key);
  };
}

/** A logger whose `error` calls are kept (what publishPending tells of a failed settle). */
function recordingLogger(): { logger: Logger; errors: Array<{ obj: unknown; msg: string }> } {
  const errors: Array<{ obj: unknown; msg: string }> = [];
  const base = createLogger({ level: 'silent' });
  const logger = Object.assign(Object.create(base) as Logger, { error: (obj: unknown, msg: string) => { errors.push({ obj, msg }); } });
  return { logger, errors };
}

describe('findings.updated whose handling failed', () => {
  it('a health re-evaluation that fails: the rescan throws naming health, the event stays owed, and the sweep puts the approval at risk once the fault is gone', async () => {
    const world = healthWorld('outbox-health-fails', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' });
    try {
      world.bus.subscribe(healthSubscriber(world.health));
      const digest = `sha256:${'d'.repeat(64)}`;
      const a = await world.approved({ team: 'payments', digest });
      await world.health.evaluate(a);
      const outbox = new FindingsOutbox(world.redis, world.prefix, { now: () => world.clock.now().getTime() });
      const sweep = new HealthSweep(world.health, (before) => outbox.flush(world.bus, { before }));
      // This hour's full re-evaluation happens now: the runs below re-evaluate only what the events name.
      expect((await sweep.run()).full).toBe(true);
      const approved: ApprovedDigest = { digest, approvals: [{ team: 'payments', repository: a.image }] };
      world.clock.advance(1000);
      const report: ScanReport = scanReport([vuln('CVE-2026-5151')], world.clock.now());

      const heal = await breakKey(world.redis, storeKeys(world.prefix).approvalImages('payments', digest));
      const err: unknown = await storeRescan({ outbox, events: world.bus }, approved, report, async () => 'v2').then(() => null, (e: unknown) => e);
      expect(isAppError(err) && { code: err.code, temporary: err.temporary }).toEqual({ code: 'DEPENDENCY_UNAVAILABLE', temporary: true });
      expect((err as Error).message).toMatch(/^approval health re-evaluation failed on findings\.updated of approval\/payments\/sha256:d+$/);
      expect((err as Error).message).not.toMatch(/audit/);
      expect(String((err as Error).cause)).toMatch(/WRONGTYPE/);
      // The report is stored, the event owed, the approval not yet re-evaluated.
      expect((await outbox.pending()).map((r) => [r.scanner, r.digest])).toEqual([['osv', digest]]);
      expect((await world.health.of([a]))[0]?.state).toBe('ok');

      // Still failing at the sweep: the record stays for the next one.
      world.clock.advance(FINDINGS_OUTBOX_GRACE_MS + 1000);
      expect(await sweep.run()).toMatchObject({ full: false, republished: 0 });
      expect(await outbox.pending()).toHaveLength(1);
      expect((await world.health.of([a]))[0]?.state).toBe('ok');

      await heal();
      expect((await sweep.run()).republished).toBe(1);
      expect((await world.health.of([a]))[0]).toMatchObject({ state: 'at_risk', blocking: [expect.objectContaining({ id: 'CVE-2026-5151' })] });
      expect(await world.redis.exists(findingsOutboxKey(world.prefix))).toBe(0);
      expect(world.events.filter((e) => e.type === 'approval.at_risk')).toHaveLength(1);
    } finally {
      await world.close();
    }
  });

  it('an audit append that fails: the error still says the audit log, and the event stays owed until it is recorded', async () => {
    const world = healthWorld('outbox-audit-fails', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' });
    try {
      world.bus.subscribe(healthSubscriber(world.health));
      const outbox = new FindingsOutbox(world.redis, world.prefix);
      const approved: ApprovedDigest = { digest: digestOf(41), approvals: [{ team: 'payments', repository: 'docker.io/library/nginx' }] };
      const heal = await breakKey(world.redis, `${world.prefix}:audit:outbox`);
      await expect(storeRescan({ outbox, events: world.bus }, approved, harbor([vuln('CVE-AUDIT')], 'v2'), async () => 'v2'))
        .rejects.toThrow(`the audit log could not record findings.updated of approval/payments/${digestOf(41)}`);
      expect(await outbox.pending()).toHaveLength(1);
      await heal();
      expect(await outbox.flush(world.bus)).toBe(1);
      expect((await world.audit.list(0, 100)).filter((e) => e.action === 'findings.updated').map((e) => e.target)).toEqual([`approval/payments/${digestOf(41)}`]);
      expect(await outbox.pending()).toEqual([]);
    } finally {
      await world.close();
    }
  });

  it('a settle that fails after a publish failed: the publish error is thrown, the settle error logged, and every record stays owed', async () => {
    const world = healthWorld('outbox-settle-fails', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' });
    try {
      const outbox = new FindingsOutbox(world.redis, world.prefix);
      const first: ApprovedDigest = { digest: digestOf(51), approvals: [{ team: 'payments', repository: 'app' }] };
      const second: ApprovedDigest = { digest: digestOf(52), approvals: [{ team: 'payments', repository: 'app' }] };
      expect(await outbox.storeReport(first.digest, harbor([vuln('CVE-1')], 'v1'), outbox.record(first, 'harbor', 'v1'), null)).toBe(true);
      expect(await outbox.storeReport(second.digest, harbor([vuln('CVE-2')], 'v1'), { ...outbox.record(second, 'harbor', 'v1'), at: Date.now() + 1 }, null)).toBe(true);
      let heal: (() => Promise<void>) | undefined;
      // The first is handled; while the second is, Redis loses the outbox (WRONGTYPE for the settle) and health fails.
      const bus = {
        publish: async (e: DomainEvent) => {
          if (e.details.digest !== second.digest) return;
          heal = await breakKey(world.redis, findingsOutboxKey(world.prefix));
          throw new Error('approval health could not be re-evaluated');
        },
      };
      const { logger, errors } = recordingLogger();
      await expect(outbox.flush(bus, { logger })).rejects.toThrow('approval health could not be re-evaluated');
      expect(errors.map((x) => [x.msg, String((x.obj as { error: unknown }).error)])).toEqual([[expect.stringMatching(/not settled/), expect.stringMatching(/WRONGTYPE/)]]);
      await heal!();
      // Neither was settled: both are published again (the first a second time, by the same eventId).
      const again: DomainEvent[] = [];
      expect(await outbox.flush({ publish: async (e) => { again.push(e); } })).toBe(2);
      expect(again.map((e) => e.details.digest)).toEqual([first.digest, second.digest]);
    } finally {
      await world.close();
    }
  });
});

describe('a re-match pass whose events are not handled', () => {
  let records: OsvRecord[];
  beforeAll(async () => {
    records = [];
    await loadRecords(realworld('osv', 'PyPI'), (r) => records.push(r));
  });

  it('fails with the other digests announced; its next pass completes past a digest that keeps failing, which stays owed', async () => {
    const world = healthWorld('outbox-rematch-fails', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' });
    try {
      const { redis, prefix } = world;
      const inventories = new RedisInventoryStore(redis, prefix, { registryHost: 'registry.internal:5000' });
      const pool = records.flatMap((r) => (r.affected ?? []).filter((a) => a.package.ecosystem === 'PyPI' && a.versions?.length)
        .map((a) => ({ name: a.package.name, version: a.versions!.at(-1)!, ecosystem: 'PyPI' as const, path: `/srv/${a.package.name}` })));
      const approved: ApprovedDigest[] = [];
      for (let d = 0; d < 10; d++) {
        const inv = {
          scanner: 'builtin', digest: digestOf(9000 + d), repository: `quarantine/fail${d}`, scannedAt: '2026-12-01T10:00:00.000Z', dbVersion: 'osv-seed',
          images: [{ manifestDigest: digestOf(19000 + d), packages: pool.slice(d * 9, d * 9 + 20).map((p, k) => ({ ...p, path: `${p.path}/${k}` })), coverage: [], hardening: [] }],
        };
        expect(await inventories.put(inventories.toStored(inv))).toBe(true);
        approved.push({ digest: inv.digest, approvals: [{ team: 'payments', repository: inv.repository }] });
      }
      const poisoned = approved[3]!.digest;
      const bus = new EventBus(createLogger({ level: 'silent' }));
      const handled: string[] = [];
      // Health as wired (critical for findings.updated), failing on one digest as a Redis fault there would.
      bus.subscribe(healthSubscriber({ subscriber: () => async (e: DomainEvent) => {
        if (e.type !== 'findings.updated') return;
        if (e.details.digest === poisoned) throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
        handled.push(String(e.details.digest));
      } }));
      const state = new RedisRematchState(redis, prefix);
      const service = new RematchService({ inventories, state, approved: { list: async () => approved }, events: bus, logger: createLogger({ level: 'silent' }) });
      const scanner = (version: string, db: OsvDatabase) => ({ name: 'builtin', vulnerabilityData: async () => ({ version, db }) });
      const today = new OsvDatabase();
      for (const r of records) today.add(r);

      await expect(service.rematchAll(scanner('osv-today', today))).rejects.toThrow(`approval health re-evaluation failed on findings.updated of approval/payments/${poisoned}`);
      expect(handled.sort()).toEqual(approved.map((a) => a.digest).filter((d) => d !== poisoned).sort());
      expect((await state.outbox.pending()).map((r) => r.digest)).toEqual([poisoned]);
      expect(await service.behind('builtin', 'osv-today')).toBe(true);

      // The retry: the poisoned digest's event fails again (logged), the pass completes, the event stays owed.
      handled.length = 0;
      const retry = await service.rematchAll(scanner('osv-today', today));
      expect({ digests: retry.digests, changed: retry.changed }).toEqual({ digests: 10, changed: 0 });
      expect(handled).toEqual([]);
      expect(await service.behind('builtin', 'osv-today')).toBe(false);
      expect((await state.outbox.pending()).map((r) => r.digest)).toEqual([poisoned]);
    } finally {
      await world.close();
    }
  });
});

describe('findings.updated whose health re-evaluation fails, in the service', () => {
  it('the service wires health as critical for it: the rescan fails, the event stays owed, the sweep job publishes it once health works', async () => {
    // No worker: its own scheduled sweep would publish the record too, at a moment of its choosing.
    const app = await startTestApp({ worker: false });
    try {
      const digest = digestOf(61);
      const seen: DomainEvent[] = [];
      app.services.events.subscribe((e) => { if (e.type === 'findings.updated') seen.push(e); });
      // Written two minutes ago (the sweep takes records past the grace).
      const outbox = new FindingsOutbox(app.redis, app.config.redis.prefix, { now: () => Date.now() - 2 * FINDINGS_OUTBOX_GRACE_MS });
      const approved: ApprovedDigest = { digest, approvals: [{ team: 'payments', repository: 'docker.io/library/nginx' }] };
      const heal = await breakKey(app.redis, storeKeys(app.config.redis.prefix).approvalImages('payments', digest));
      await expect(storeRescan({ outbox, events: app.services.events }, approved, harbor([vuln('CVE-WIRED')], 'v3'), async () => 'v3'))
        .rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', message: `approval health re-evaluation failed on findings.updated of approval/payments/${digest}` });
      expect((await outbox.pending()).map((r) => r.digest)).toEqual([digest]);
      expect((await app.services.monitor.sweep.run()).republished).toBe(0);
      await heal();
      expect((await app.services.monitor.sweep.run()).republished).toBe(1);
      expect(await outbox.pending()).toEqual([]);
      // Published three times (the rescan, the failed sweep, the one that worked), each with the record's id.
      expect(new Set(seen.map((e) => e.details.eventId)).size).toBe(1);
      expect(seen).toHaveLength(3);
    } finally {
      await app.stop();
    }
  });
});
