/**
 * At-risk events and twin findings, on the real Redis stores: a blocking finding reported under
 * another lead id (GO-… and its GHSA-… twin merged, or the lead flipping between them) is the
 * same risk, so it sends no second `approval.at_risk`; a genuinely new blocking finding still does.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AuditKeyring, auditSubscriber, RedisAuditLog } from '../../../src/audit';
import { EventBus, type DomainEvent } from '../../../src/intake/events';
import { createLogger } from '../../../src/lib/logger';
import { HealthService } from '../../../src/monitor/health';
import { RedisHealthStore } from '../../../src/monitor/health-store';
import { monitorConfigSchema } from '../../../src/monitor/config';
import { policyConfigSchema } from '../../../src/policy/config';
import type { Finding, ScanReport } from '../../../src/scanners/types';
import { RedisApprovalStore, RedisLedgerSnapshot, RedisRequestStore, RedisScanResultStore, type Approval, type IntakeRequest } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { movableClock } from './fixtures';

const image = 'registry.example/platform/gateway';
const GO = 'GO-2022-1059';
const GHSA = 'GHSA-69ch-w2m2-3vjp';
const CVE = 'CVE-2022-32149';
const vuln = (id: string, aliases: string[], pkg = 'golang.org/x/text', installed = 'v0.3.7'): Finding => ({
  id, aliases, kind: 'vulnerability', package: pkg, ecosystem: 'Go', installedVersion: installed, fixedVersion: 'v0.3.8', severity: 'high', title: id, links: [],
});
const report = (findings: Finding[], at: Date): ScanReport => ({
  scanner: 'osv', status: 'succeeded', findings, summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
  startedAt: at.toISOString(), finishedAt: at.toISOString(), dbVersion: 'v1',
});

describe('at-risk events of twin findings on real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let clock: ReturnType<typeof movableClock>;
  let events: DomainEvent[];
  let audit: RedisAuditLog;
  let health: HealthService;
  let stores: { approvals: RedisApprovalStore; requests: RedisRequestStore; scans: RedisScanResultStore };

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('twins');
    clock = movableClock(Date.parse('2026-06-01T10:00:00Z'));
    events = [];
    const logger = createLogger({ level: 'silent' });
    const bus = new EventBus(logger);
    audit = new RedisAuditLog(redis, prefix, { keys: AuditKeyring.parse(`k1:${randomBytes(32).toString('base64')}`) });
    bus.subscribe(auditSubscriber(audit, logger));
    bus.subscribe((e) => { events.push(e); });
    stores = { approvals: new RedisApprovalStore(redis, prefix), requests: new RedisRequestStore(redis, prefix), scans: new RedisScanResultStore(redis, prefix) };
    const ledger = new RedisLedgerSnapshot(redis, prefix);
    health = new HealthService({
      approvals: stores.approvals, requests: stores.requests, scanResults: stores.scans, all: async () => (await ledger.snapshot()).approvals,
      revoke: async () => undefined, events: bus, logger, now: clock.now,
    }, new RedisHealthStore(redis, prefix), { policy: policyConfigSchema.parse({ failOn: ['critical', 'high'] }), monitor: monitorConfigSchema.parse({}) });
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  async function approved(digest: string): Promise<Approval> {
    const id = uniqueName('req');
    const at = clock.now().toISOString();
    const r: IntakeRequest = {
      id, image: `${image}:1.0`, team: 'payments', requestedBy: 'dev', justification: 'x', status: 'approved', createdAt: at, updatedAt: at,
      source: { registry: 'registry.example', repository: 'platform/gateway', tag: '1.0', digest }, platforms: [], scans: [report([], clock.now())], codeScans: [],
      policy: { verdict: 'pass', reasons: [], blocking: [] }, waivers: [], decisions: [{ by: 'approver', decision: 'approve', comment: 'ok', at }],
      internalRef: `h/approved/payments/${image}@${digest}`, error: null, history: [{ status: 'approved', at, by: 'approver' }], version: 0,
    };
    await stores.requests.create(r);
    const a: Approval = {
      team: 'payments', digest, image, tags: ['1.0'], platforms: [], internalRef: r.internalRef as string, internalRepository: `approved/payments/${image}`, internalTag: '1.0',
      approvedAt: at, approvedBy: ['approver'], requestId: id,
    };
    await stores.approvals.put(a);
    return a;
  }

  let step = 0;
  /** A re-match storing `findings` as the digest's current report, then the evaluation it triggers. */
  async function rematch(a: Approval, findings: Finding[]): Promise<void> {
    step += 1;
    await stores.scans.put(a.digest, report(findings, new Date(clock.now().getTime() + step * 1000)));
    await health.evaluate(a);
  }
  const atRisk = () => events.filter((e) => e.type === 'approval.at_risk');

  it('sends no second at_risk when twins merge or the lead id flips, and one when a new blocking finding appears', async () => {
    const a = await approved(`sha256:${'c'.repeat(64)}`);
    await health.evaluate(a);
    // Before twins were merged: the Go record and its GitHub twin, two findings of one risk.
    await rematch(a, [vuln(GO, [GHSA, CVE]), vuln(GHSA, [CVE])]);
    expect(atRisk()).toHaveLength(1);
    // The first re-match after the merge: one finding led by the Go id.
    await rematch(a, [vuln(GO, [GHSA, CVE])]);
    // The lead flips to the GitHub id (the Go record withdrawn, or a different load).
    await rematch(a, [vuln(GHSA, [GO, CVE])]);
    // And back.
    await rematch(a, [vuln(GO, [GHSA, CVE])]);
    expect(atRisk()).toHaveLength(1);
    expect((await audit.list(0, 100)).filter((e) => e.action === 'approval.at_risk')).toHaveLength(1);
    expect((await health.of([a]))[0]).toMatchObject({ state: 'at_risk', blocking: [expect.objectContaining({ id: GO, aliases: [GHSA, CVE] })] });

    // A genuinely new blocking finding (another module) is news.
    await rematch(a, [vuln(GO, [GHSA, CVE]), vuln('GO-2023-1571', ['CVE-2022-41723'], 'golang.org/x/net', 'v0.5.0')]);
    expect(atRisk()).toHaveLength(2);
    expect(atRisk()[1]!.details).toMatchObject({ cves: expect.arrayContaining(['GO-2023-1571', GO]) });
    // So is a finding that shares only a CVE with a known one (another advisory, maybe another fix).
    await rematch(a, [vuln(GO, [GHSA, CVE]), vuln('GO-2023-1571', ['CVE-2022-41723'], 'golang.org/x/net', 'v0.5.0'), vuln('PYSEC-LIKE-1', [CVE])]);
    expect(atRisk()).toHaveLength(3);
    expect((await audit.list(0, 100)).filter((e) => e.action === 'approval.at_risk')).toHaveLength(3);
  });
});
