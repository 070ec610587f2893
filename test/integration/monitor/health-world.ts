/**
 * The health service on the real Redis stores, wired as the worker wires it (event bus, hash-chained
 * audit, ledger snapshot) with a movable clock, and approvals written as promotion leaves them.
 * Shared by the sweep and the twin-findings tests.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AuditKeyring, auditSubscriber, RedisAuditLog } from '../../../src/audit';
import { EventBus, type DomainEvent } from '../../../src/intake/events';
import { createLogger } from '../../../src/lib/logger';
import { HealthService } from '../../../src/monitor/health';
import { RedisHealthStore } from '../../../src/monitor/health-store';
import { monitorConfigSchema } from '../../../src/monitor/config';
import type { Revoker } from '../../../src/monitor/ports';
import { policyConfigSchema } from '../../../src/policy/config';
import type { Finding, ScanReport } from '../../../src/scanners/types';
import { RedisApprovalStore, RedisLedgerSnapshot, RedisRequestStore, RedisScanResultStore, type Approval, type IntakeRequest } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { movableClock } from './fixtures';

/** A succeeded builtin report holding `findings`, finished at `at`. */
export const scanReport = (findings: Finding[], at: Date): ScanReport => ({
  scanner: 'osv', status: 'succeeded', findings, summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
  startedAt: at.toISOString(), finishedAt: at.toISOString(), dbVersion: 'v1',
});

/** Where an approved image came from: `image` is `<registry>/<repository>`. */
export interface ImageSource { registry: string; repository: string; tag: string }

export interface ApprovedOptions { team: string; digest: string; findings?: Finding[]; waivers?: IntakeRequest['waivers']; createdAt?: Date }

export interface HealthWorld {
  redis: Redis;
  prefix: string;
  clock: ReturnType<typeof movableClock>;
  events: DomainEvent[];
  bus: EventBus;
  audit: RedisAuditLog;
  health: HealthService;
  stores: { approvals: RedisApprovalStore; requests: RedisRequestStore; scans: RedisScanResultStore };
  /** An approved request and its ledger entry, as promotion leaves them. */
  approved(options: ApprovedOptions): Promise<Approval>;
  /** Deletes every key the world wrote and disconnects. */
  close(): Promise<void>;
}

export function healthWorld(name: string, source: ImageSource, revoke: Revoker = async () => undefined): HealthWorld {
  const redis = new Redis(services().redis.url);
  const prefix = uniqueName(name);
  const clock = movableClock(Date.parse('2026-06-01T10:00:00Z'));
  const events: DomainEvent[] = [];
  const logger = createLogger({ level: 'silent' });
  const bus = new EventBus(logger);
  const audit = new RedisAuditLog(redis, prefix, { keys: AuditKeyring.parse(`k1:${randomBytes(32).toString('base64')}`) });
  bus.subscribe(auditSubscriber(audit, logger));
  bus.subscribe((e) => { events.push(e); });
  const stores = { approvals: new RedisApprovalStore(redis, prefix), requests: new RedisRequestStore(redis, prefix), scans: new RedisScanResultStore(redis, prefix) };
  const ledger = new RedisLedgerSnapshot(redis, prefix);
  const health = new HealthService({
    approvals: stores.approvals, requests: stores.requests, scanResults: stores.scans, all: async () => (await ledger.snapshot()).approvals,
    revoke, events: bus, logger, now: clock.now,
  }, new RedisHealthStore(redis, prefix), { policy: policyConfigSchema.parse({ failOn: ['critical', 'high'] }), monitor: monitorConfigSchema.parse({}) });
  const image = `${source.registry}/${source.repository}`;

  async function approved({ team, digest, findings = [], waivers = [], createdAt = clock.now() }: ApprovedOptions): Promise<Approval> {
    const id = uniqueName('req');
    const at = clock.now().toISOString();
    const r: IntakeRequest = {
      id, image: `${image}:${source.tag}`, team, requestedBy: 'dev', justification: 'x', status: 'approved', createdAt: createdAt.toISOString(), updatedAt: at,
      source: { registry: source.registry, repository: source.repository, tag: source.tag, digest }, platforms: [], scans: [scanReport(findings, clock.now())], codeScans: [],
      policy: { verdict: 'pass', reasons: [], blocking: [] }, waivers, decisions: [{ by: 'approver', decision: 'approve', comment: 'ok', at }],
      internalRef: `h/approved/${team}/${image}@${digest}`, error: null, history: [{ status: 'approved', at, by: 'approver' }], version: 0,
    };
    await stores.requests.create(r);
    const a: Approval = {
      team, digest, image, tags: [source.tag], platforms: [], internalRef: r.internalRef as string, internalRepository: `approved/${team}/${image}`, internalTag: source.tag,
      approvedAt: at, approvedBy: ['approver'], requestId: id,
    };
    await stores.approvals.put(a);
    return a;
  }

  async function close(): Promise<void> {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }

  return { redis, prefix, clock, events, bus, audit, health, stores, approved, close };
}
