/**
 * Builds the monitor from the service's stores and intake services (main.ts calls this, as it
 * builds everything else): the revocation and request services are reached through the system
 * principal, an admin of every team for revocation and a developer of the one team for drift
 * requests, so every check those services make still applies.
 */
import type Redis from 'ioredis';
import type { Config } from '../lib/config';
import type { Principal, SubjectLinks } from '../lib/identity/types';
import type { Logger } from '../lib/logger';
import type { ImageRef } from '../registry';
import type { Approval, ApprovalStore, RequestStore, ScanResultStore } from '../store/types';
import { RedisLedgerSnapshot } from '../store';
import { DriftService } from './drift';
import { DriftHistoryService, RedisDriftHistory } from './drift-history';
import { FindingsOutbox } from './findings-outbox';
import { FINDINGS_UPDATED } from './findings-updated';
import { HealthService } from './health';
import { RedisHealthStore } from './health-store';
import { healthMetricsSource, type HealthCounts } from './metrics-source';
import { SYSTEM_ACTOR, type EventPublisher, type EventSubscriber } from './ports';
import { RedisSnapshotStore } from './snapshot-store';
import { SnapshotService } from './snapshots';
import { ReviewService } from './review';
import { HealthSweep } from './sweep';
import { HealthViews } from './views';

export interface MonitorPorts {
  approvals: ApprovalStore;
  requests: RequestStore;
  scanResults: ScanResultStore;
  events: EventPublisher & { subscribe(handler: EventSubscriber): void };
  revocations: { revoke(p: Principal, input: { image: string; team: string; reason: string; keepImage?: boolean }): Promise<unknown> };
  requestService: { create(p: Principal, input: { image: string; team: string; justification: string; platforms?: string[] }): Promise<{ request: { id: string }; deduplicated?: string }> };
  resolve: (ref: ImageRef) => Promise<string>;
  /** Who is the same person (four-eyes of a re-review, as of an approval). */
  links?: SubjectLinks;
}

export interface Monitor {
  health: HealthService;
  sweep: HealthSweep;
  drift: DriftService;
  /** Upstream moves kept per team (the console's Alerts, `GET /v1/drift`). */
  driftHistory: DriftHistoryService;
  snapshots: SnapshotService;
  views: HealthViews;
  reviews: ReviewService;
  counts: () => Promise<HealthCounts>;
}

/**
 * Health's bus subscriber, critical for `findings.updated`: that event is published `required`
 * by a writer that keeps it owed until published (./findings-outbox.ts), so a re-evaluation that
 * failed (Redis away) fails the publish, the record stays and the writer's pass or job is retried,
 * instead of the approval waiting unevaluated for the hourly full sweep. For the other events it
 * hears (an approval made, revoked) a failure is only logged, as before: those are published by
 * intake steps that must not be undone by it, and the sweep re-evaluates every approval hourly.
 */
export function healthSubscriber(health: Pick<HealthService, 'subscriber'>): EventSubscriber {
  return Object.assign(health.subscriber(), { criticalFor: [FINDINGS_UPDATED], role: 'approval health re-evaluation' });
}

const SYSTEM_ADMIN: Principal = { name: SYSTEM_ACTOR, roles: ['admin'], teams: ['*'], subject: 'system:monitor' };

export function createMonitor(config: Config, logger: Logger, redis: Redis, ports: MonitorPorts, now: () => Date = () => new Date()): Monitor {
  const prefix = config.redis.prefix;
  const log = logger.child({ module: 'monitor' });
  const store = new RedisHealthStore(redis, prefix);
  const ledger = new RedisLedgerSnapshot(redis, prefix);
  const all = async (): Promise<Approval[]> => (await ledger.snapshot()).approvals;
  const health = new HealthService({
    approvals: ports.approvals, requests: ports.requests, scanResults: ports.scanResults, all, events: ports.events, logger: log, now,
    revoke: async (a, reason) => {
      // By digest reference under the approval's own name: only that name's approval is revoked.
      // The internal image stays: revocation never takes down a running workload whose container
      // restarts and pulls it again (issue 13, Harbor #11532); an admin's revoke deletes it later.
      await ports.revocations.revoke(SYSTEM_ADMIN, { image: `${a.image}@${a.digest}`, team: a.team, reason, keepImage: true });
    },
  }, store, { policy: config.policy, monitor: config.monitor });
  const driftHistory = new RedisDriftHistory(redis, prefix, config.monitor.driftHistoryDays);
  const drift = new DriftService({
    redis, prefix, history: driftHistory, approvals: ports.approvals, requests: ports.requests, all, resolve: ports.resolve, events: ports.events,
    autoRequest: config.monitor.autoRequest, now, driftEveryMs: config.monitor.driftEvery, logger: log,
    file: async (input) => {
      const developer: Principal = { name: SYSTEM_ACTOR, roles: ['developer'], teams: [input.team], subject: 'system:monitor' };
      const created = await ports.requestService.create(developer, input);
      return { id: created.request.id, ...(created.deduplicated ? { deduplicated: created.deduplicated } : {}) };
    },
  });
  // Where the re-match and rescans leave the findings.updated they could not publish (the sweep publishes them).
  const findings = new FindingsOutbox(redis, prefix);
  ports.events.subscribe(healthSubscriber(health));
  ports.events.subscribe(drift.subscriber());
  return {
    health, drift, driftHistory: new DriftHistoryService(driftHistory), sweep: new HealthSweep(health, (before) => findings.flush(ports.events, { before, logger: log })), views: new HealthViews(store), reviews: new ReviewService(health, config.policy.waivers.maxDays, ports.links),
    snapshots: new SnapshotService({ store: new RedisSnapshotStore(redis, prefix), requests: ports.requests, health, all, retentionDays: config.monitor.snapshots.retentionDays }),
    counts: healthMetricsSource(store),
  };
}
