/**
 * The health sweep and the snapshots on the real Redis stores, with approvals and approved
 * requests written as the pipeline leaves them and a moved clock (no sleeps): many concurrent
 * evaluations of one approval publish and audit its transition once; a waiver about to expire
 * raises `waiver.expiring` at most once a day, and once expired puts the approval at risk;
 * daily snapshots are written once per team and day, trimmed, and read within the caller's teams.
 */
import type Redis from 'ioredis';
import type { RedisAuditLog } from '../../../src/audit';
import type { EventBus, DomainEvent } from '../../../src/intake/events';
import type { HealthService } from '../../../src/monitor/health';
import { RedisHealthStore } from '../../../src/monitor/health-store';
import { healthMetricsSource } from '../../../src/monitor/metrics-source';
import { RedisSnapshotStore } from '../../../src/monitor/snapshot-store';
import { SnapshotService } from '../../../src/monitor/snapshots';
import { HealthSweep } from '../../../src/monitor/sweep';
import type { Finding } from '../../../src/scanners/types';
import { RedisLedgerSnapshot, type Approval, type IntakeRequest } from '../../../src/store';
import { healthWorld, scanReport as report, type HealthWorld } from './health-world';

const DAY = 86_400_000;
const image = 'docker.io/library/nginx';
const vuln = (id: string, severity: Finding['severity']): Finding => ({
  id, aliases: [], kind: 'vulnerability', package: 'openssl', installedVersion: '3.0.1', fixedVersion: '3.0.9', severity, title: id, links: [],
});

describe('health sweep and snapshots on real Redis', () => {
  let world: HealthWorld;
  let redis: Redis;
  let prefix: string;
  let clock: HealthWorld['clock'];
  let events: DomainEvent[];
  let bus: EventBus;
  let audit: RedisAuditLog;
  let health: HealthService;
  let sweep: HealthSweep;
  let stores: HealthWorld['stores'];
  const revoked: string[] = [];

  beforeEach(() => {
    world = healthWorld('sweep', { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }, async (a) => { revoked.push(a.digest); });
    ({ redis, prefix, clock, events, bus, audit, health, stores } = world);
    bus.subscribe(health.subscriber());
    sweep = new HealthSweep(health);
  });
  afterEach(() => world.close());

  const approved = (team: string, digest: string, findings: Finding[], waivers: IntakeRequest['waivers'] = [], createdAt?: Date): Promise<Approval> =>
    world.approved({ team, digest, findings, waivers, createdAt });

  it('publishes and audits a transition once when many evaluations race', async () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const a = await approved('payments', digest, [vuln('CVE-LOW', 'low')]);
    await health.evaluate(a);
    await stores.scans.put(digest, report([vuln('CVE-LOW', 'low'), vuln('CVE-2026-1', 'critical')], new Date(clock.now().getTime() + 1000)));
    const results = await Promise.all(Array.from({ length: 20 }, () => health.evaluate(a)));
    expect(results.every((r) => r?.state === 'at_risk')).toBe(true);
    expect(events.filter((e) => e.type === 'approval.at_risk')).toHaveLength(1);
    expect((await audit.list(0, 100)).filter((e) => e.action === 'approval.at_risk')).toHaveLength(1);
    expect(await healthMetricsSource(new RedisHealthStore(redis, prefix))()).toEqual({
      approved: [{ team: 'payments', maxSeverity: 'critical', count: 1 }], atRisk: [{ team: 'payments', severity: 'critical', count: 1 }],
    });

    // An admin's revocation (the event the revocation service publishes) closes the record; the gauges drop it.
    await bus.publish({ type: 'approval.revoked', actor: 'admin', target: `approval/payments/${digest}`, details: { team: 'payments', digest, images: [image], reason: 'manual' } });
    expect((await health.of([a]))[0]).toMatchObject({ state: 'revoked', revocation: { by: 'admin', reason: 'manual' } });
    expect(await healthMetricsSource(new RedisHealthStore(redis, prefix))()).toEqual({ approved: [], atRisk: [] });
    expect(await new RedisHealthStore(redis, prefix).due(Date.now() + 365 * DAY, 10)).toEqual([]);
  });

  it('warns of an expiring waiver at most once a day, and puts the approval at risk once it expired', async () => {
    const digest = `sha256:${'b'.repeat(64)}`;
    const expires = new Date(clock.now().getTime() + 3 * DAY).toISOString();
    const far = new Date(clock.now().getTime() + 30 * DAY).toISOString();
    await approved('payments', digest, [vuln('CVE-W', 'high'), { ...vuln('CVE-FAR', 'high'), package: 'zlib' }], [
      { findingId: 'CVE-W', reason: 'no exploit path', expires, by: 'approver', at: clock.now().toISOString() },
      { findingId: 'CVE-FAR', reason: 'later', expires: far, by: 'approver', at: clock.now().toISOString() },
    ]);
    const expiring = () => events.filter((e) => e.type === 'waiver.expiring');
    expect((await sweep.run()).waiverAlerts).toBe(1);
    expect(expiring()[0].details).toMatchObject({ team: 'payments', digest, findingId: 'CVE-W', expires, daysLeft: 3 });
    clock.advance(60_000);
    expect((await sweep.run()).waiverAlerts).toBe(0);
    clock.advance(DAY);
    expect((await sweep.run()).waiverAlerts).toBe(1);
    expect((await health.of([{ team: 'payments', image, digest }]))[0]?.state).toBe('ok');

    clock.advance(3 * DAY);
    const out = await sweep.run();
    expect(out.atRisk).toBe(1);
    const record = (await health.of([{ team: 'payments', image, digest }]))[0];
    expect(record?.blocking).toEqual([expect.objectContaining({ id: 'CVE-W', cause: 'waiver_expired', since: expires, deadline: new Date(Date.parse(expires) + 7 * DAY).toISOString() })]);
    expect(events.filter((e) => e.type === 'approval.at_risk')).toHaveLength(1);
    // High: 7 days of grace from the expiry; then a re-review (autoRevoke off), never a revocation.
    clock.advance(7 * DAY);
    expect((await sweep.run()).reviews).toHaveLength(1);
    expect(revoked).toEqual([]);
  });

  it('writes one snapshot per team and day, trims past the retention, and reads within the caller\'s teams', async () => {
    const d1 = `sha256:${'c'.repeat(64)}`;
    const d2 = `sha256:${'d'.repeat(64)}`;
    await approved('payments', d1, [vuln('CVE-1', 'high'), vuln('CVE-2', 'low')], [], new Date(clock.now().getTime() - 3600_000));
    await approved('payments', d2, [vuln('CVE-1', 'high')], [], new Date(clock.now().getTime() - 7200_000));
    await approved('logistics', `sha256:${'e'.repeat(64)}`, []);
    await health.evaluateDigest('payments', d1);
    const snapshots = new SnapshotService({ store: new RedisSnapshotStore(redis, prefix), requests: stores.requests, health, all: async () => (await new RedisLedgerSnapshot(redis, prefix).snapshot()).approvals, retentionDays: 2 });
    const first = await snapshots.run();
    expect(first.written).toEqual(['logistics', 'payments']);
    expect((await snapshots.run()).written).toEqual([]);
    const member = { name: 'p', roles: ['developer' as const], teams: ['payments'] };
    const [today] = await snapshots.read(member, { team: 'payments', days: 30 });
    expect(today).toMatchObject({
      team: 'payments', day: '2026-06-01', requests: expect.objectContaining({ approved: 2, rejected: 0 }),
      approved: { images: 2, uniqueCves: { critical: 0, high: 1, medium: 0, low: 1, unknown: 0 }, instances: { critical: 0, high: 2, medium: 0, low: 1, unknown: 0 } },
      // d1 was evaluated: CVE-1 is high and today's policy fails on high, so it is at risk; d2 was not evaluated yet (counted as ok).
      atRisk: { total: 1 }, decisions: 2, meanTimeToDecisionSeconds: 5400,
    });
    await expect(snapshots.read(member, { team: 'logistics', days: 30 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await snapshots.read(member, { days: 30 })).map((s) => s.team)).toEqual(['payments']);
    expect((await snapshots.read({ name: 'a', roles: ['auditor'], teams: [] }, { days: 30 })).map((s) => s.team)).toEqual(['logistics', 'payments']);

    clock.advance(DAY);
    await snapshots.run();
    clock.advance(DAY);
    await snapshots.run();
    expect((await snapshots.read(member, { team: 'payments', days: 30 })).map((s) => s.day)).toEqual(['2026-06-02', '2026-06-03']);
  });
});
