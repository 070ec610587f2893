/**
 * The service entry point: `node dist/src/main.js [--role all|api|worker]`. Loads and
 * validates the configuration (a bad value stops here with one line naming the key), wires
 * implementations to interfaces, and starts the API, the workers, or both. The wiring
 * functions are exported so that the test harness runs exactly this wiring in-process.
 */
// First: before any full GC can free the hidden class of node's tick objects (lib/tick-shapes.ts).
import './lib/tick-shapes';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Worker } from 'bullmq';
import type Redis from 'ioredis';
import { startMaintenanceWorker } from '../queue/maintenance';
import { BullScheduler } from '../queue/scheduler';
import { retentionProcessor, scheduleRetention } from '../queue/retention';
import { BullRegistryCleanup, unpublishProcessor } from '../queue/unpublish';
import { SWEEP_INTERVAL_MS } from '../queue/sweep';
import { startWebhookWorker, WebhookQueue } from '../queue/webhook';
import { MonitorQueue, startMonitor } from '../queue/vulndb-sync';
import { CLAIR_NOTIFICATION_JOB, ClairNotificationQueue, clairNotificationEnqueuer, clairNotificationProcessor, clairSweepProcessor, scheduleClairSweep, startClairNotificationWorker } from '../queue/clair-notification';
import { RESCAN_JOB, rescanProcessor, scheduleRescans } from '../queue/rescan';
import { buildRescans, type Rescans } from './monitor/rescan-wiring';
import { buildInventory, type Inventory } from './monitor/inventory-wiring';
import { startIntakeWorker } from '../queue/worker';
import { createApp } from './api/app';
import { CachedIdentity, PRINCIPAL_CACHE_MS, clearOnIdentityChange, identityChangeAnnouncer, listenIdentityChanges } from './api/middleware/auth-cache';
import { oidcSignInRouter } from './api/routes/oidc-signin';
import { v1Router } from './api/v1';
import { AdmissionDirectory, ExceptionService, ledgerAnnouncer, ledgerChannel, NamespaceMap, RedisAdmissionLedger, RedisExceptionStore, startAdmission, type LedgerSource } from './admission';
import type { AdmissionApi } from './api/routes/admission';
import { AuditKeyring, auditSubscriber, RedisAuditLog, startCheckpointer, startPeriodicDrain } from './audit';
import { checkpointDirUsable } from './audit';
import { instrumentScanner, Metrics, metricsSubscriber, RedisDeliveryLog, resolveEndpoints, startMetricsServer, webhookSubscriber, type Endpoint } from './events';
import {
  ApprovedService, CodeScanService, DecisionService, EventBus, Lifecycle, Pipeline, RequestService, RetentionService, RevocationService, ScanRunner, WaiverService, policyEvaluator, teamBacklog,
  type IntakeRegistry, type PolicyEvaluator,
} from './intake';
import { NotificationService, type PublishLocks } from './intake';
import { RegistryGateway } from './intake';
import { ConfigError, loadConfig, type Config } from './lib/config';
import { startIdentityHygiene } from '../queue/identity-hygiene';
import { monitorProcessors, scheduleMonitor } from '../queue/monitor';
import { createMonitor, type Monitor } from './monitor/wiring';
import { alertLogger } from './events';
import { approverGroupsOf, createIdentity, createOidcSignIn, refreshingSessions, type Identity, type IdentityOptions } from './identity';
import type { IdentityProvider } from './lib/identity/types';
import { createLogger, setRootLogger, type Logger } from './lib/logger';
import { BatchedRateCounter, RedisRateCounter } from './lib/rate-counter';
import { readinessOf } from './lib/readiness';
import { readKeyPair } from './lib/tls-files';
import { closeRedis, createRedis, pingRedis, replicationConfirmer, workerConnection } from './lib/redis';
import { onShutdown, type ShutdownStep } from './lib/shutdown';
import type { Mover } from './registry';
import { createMover } from './registry';
import { StagedBlobs, UpstreamResolver } from './registry';
import { cancelAbandonedUploads } from './registry';
import { detachSboms, startScanners } from './scanners';
import type { ScannerAdapter } from './scanners/types';
import { endSessionsOnDisable, RedisSessionStore } from './ui/sessions';
import { RedisApprovalStore, RedisCodeScanStore, RedisLedgerSnapshot, RedisRequestStore, RedisRevocationStore, RedisScanResultStore, type ApprovalStore } from './store';
import { LeaseKeeper, RedisFindingIndex, RedisStepLeases, RedisUploadJournal } from './store';
import { backfillFindingIndex, findingIndexer } from './ui/data/indexer';
import type { Monitoring } from './ui/data/monitoring';
import { consoleRouter } from './ui/router';
import { consoleDeps } from './ui/wiring';
import { consoleMonitoring, staleAfter } from './console-monitoring';

type Role = 'all' | 'api' | 'worker' | 'webhook';

function parseRole(argv: string[]): Role {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } } });
  const role = values.role;
  if (role !== 'all' && role !== 'api' && role !== 'worker' && role !== 'webhook') throw new ConfigError(`--role must be all, api, worker or webhook, not '${role}'`);
  return role;
}

/** Everything the API and the workers share, built once per process. */
export interface Services {
  events: EventBus;
  audit: RedisAuditLog;
  metrics: Metrics;
  /** Webhook endpoints (secrets resolved), their delivery queue and log; none configured: no queue. */
  webhooks: { endpoints: Endpoint[]; queue: WebhookQueue | null; log: RedisDeliveryLog };
  notifications: NotificationService;
  scheduler: BullScheduler;
  requests: RequestService;
  decisions: DecisionService;
  approved: ApprovedService;
  revocations: RevocationService;
  waivers: WaiverService;
  codeScans: CodeScanService;
  pipeline: Pipeline;
  /** Renews the pipeline's step leases from its own thread; the worker stops it at shutdown. */
  leaseKeeper: LeaseKeeper;
  /** The maintenance queue's producer (registry deletes after revocation). */
  cleanup: BullRegistryCleanup;
  /** For the maintenance worker's jobs. */
  approvals: ApprovalStore;
  /** One publish or unpublish at a time of an image in an approved repository (intake/publish-lock.ts). */
  publishLocks: PublishLocks;
  retention: RetentionService;
  registry: IntakeRegistry;
  /** Cancels upload sessions of killed processes; workers run it periodically. */
  uploads?: UploadCleanup;
  /** Who is asking: the provider chain, robot accounts, role hygiene. */
  auth: Identity;
  /** Approval health, drift and daily snapshots (src/monitor). */
  monitor: Monitor;
  /** Inventories, SBOMs, scanner data status, re-match and scheduled syncs (issue 13.1, 13.2). */
  inventory: Inventory;
  /** The monitor queue's producer (syncs, rescans). */
  monitorQueue: MonitorQueue;
  /** Clair notifications' own queue (queue/clair-notification.ts: never behind a long monitor job). */
  clairQueue: ClairNotificationQueue;
  /** Clair's notifier hook and its job, scheduled Harbor and missing-inventory rescans (issue 13.2). */
  rescans: Rescans;
  /** Namespaces, break-glass exceptions and the admission ledger's reader, for the API. */
  admission: AdmissionApi;
  /** The identity clock (tests move it): remembered principals expire on it too. */
  identityClock?: () => Date;
}

/** Upload sessions a killed process left on the internal registry (issue 8.6). */
export interface UploadCleanup {
  /** Renews this process's liveness, so that others leave its sessions alone. */
  renew(): Promise<void>;
  /** Cancels the sessions of processes that stopped renewing; how many. */
  cancelAbandoned(): Promise<number>;
}

export interface ServiceOptions {
  /** The checked scanner adapters (main() builds them from `config.scanners`). @defaultValue [] */
  scanners?: ScannerAdapter[];
  policy?: PolicyEvaluator;
  /** The registry gateway: main() passes the one {@link registryGateway} built; tests of the API alone a stand-in. @defaultValue built from config */
  registry?: IntakeRegistry;
  /** With `registry`: the cleanup of its upload sessions. @defaultValue built with the registry */
  uploads?: UploadCleanup;
  /** With `registry`: its staged-blob memory, for the metrics. @defaultValue built with the registry */
  stagedBlobs?: StagedBlobs;
  /** The audit entry keys. @defaultValue from PORTCULLIS_AUDIT_KEY (none: ConfigError, fail closed) */
  auditKeys?: AuditKeyring;
  /** Identity wiring (a clock tests move; workers skip the tokens file). */
  identity?: IdentityOptions;
  /** The monitor's clock (grace deadlines, waiver expiry, snapshots), which tests move. @defaultValue the system clock */
  monitorClock?: () => Date;
  /** What the console shows of post-approval monitoring. @defaultValue not configured */
  monitoring?: Monitoring;
}

/** The registry gateway and the one configured mover inside it. */
export interface RegistryWiring {
  registry: IntakeRegistry;
  /** Present when the gateway was built with Redis (upload sessions journaled). */
  uploads?: UploadCleanup;
  mover: Mover;
  /** The mover's start-up check (pings the engine for `mover.type: engine`). */
  checkMover(): Promise<void>;
  /** Blobs just staged, kept for the scan (none when `copy.keepStagedMb` is 0). */
  stagedBlobs?: StagedBlobs;
}

export function buildServices(config: Config, logger: Logger, redis: Redis, options: ServiceOptions = {}): Services {
  const prefix = config.redis.prefix;
  const events = new EventBus(logger.child({ module: 'events' }));
  // Approvals, revocations, decisions and audit appends wait for a replica under Sentinel (lib/redis.ts).
  const confirm = replicationConfirmer(redis, config.redis);
  const audit = new RedisAuditLog(redis, prefix, { keys: options.auditKeys, logger: logger.child({ module: 'audit' }), timeoutMs: config.audit.timeoutMs, confirm });
  events.subscribe(auditSubscriber(audit, logger.child({ module: 'audit' })));
  // Admission webhook replicas hear approvals and revocations at once (src/admission/announce.ts).
  events.subscribe(ledgerAnnouncer(redis, ledgerChannel(prefix)));
  // Every API process forgets its remembered principals when an identity changes (auth-cache.ts).
  events.subscribe(identityChangeAnnouncer(redis, prefix));
  // A disabled, deleted or expired principal's console sessions end at once, whichever process disabled it.
  events.subscribe(endSessionsOnDisable(new RedisSessionStore(redis, prefix, { idleMs: config.ui.idleMinutes * 60_000, lifetimeMs: config.ui.lifetimeHours * 3_600_000 }), logger.child({ module: 'ui' })));
  const requests = new RedisRequestStore(redis, prefix, { confirm });
  const metrics = new Metrics({ version: PACKAGE_VERSION });
  events.subscribe(metricsSubscriber(metrics, { requestedAt: async (target) => (await requests.get(target.replace(/^request\//, '')))?.createdAt ?? null }));
  const webhooks = webhookWiring(config, redis, events);
  const approvals = new RedisApprovalStore(redis, prefix, { confirm });
  const revocations = new RedisRevocationStore(redis, prefix, { confirm });
  const scheduler = new BullScheduler(redis, prefix, { backlog: teamBacklog(requests) }, logger);
  const cleanup = new BullRegistryCleanup(redis, prefix, logger);
  const lifecycle = new Lifecycle(requests, events);
  const wiring = options.registry ? undefined : registryGateway(config, logger, redis);
  const registry = options.registry ?? (wiring as RegistryWiring).registry;
  const uploads = options.uploads ?? wiring?.uploads;
  const staged = options.stagedBlobs ?? wiring?.stagedBlobs;
  if (staged) metrics.watchStagedBlobs(staged);
  const internalHost = new URL(config.internalRegistry.url).host;
  const policy = options.policy ?? policyEvaluator(config.policy);
  const scanners = (options.scanners ?? []).map((scanner) => instrumentScanner(scanner, metrics));
  const scanResults = new RedisScanResultStore(redis, prefix);
  const scans = new ScanRunner(scanners, scanResults, logger.child({ module: 'scan' }));
  const inventory = buildInventory(config, logger, { redis, events, requests, approvals, results: scanResults, internal: registry.internal, scanners: options.scanners ?? [], referrerLocks: referrerLocks(config, redis) });
  const monitorQueue = new MonitorQueue(redis, prefix, logger);
  const clairQueue = new ClairNotificationQueue(redis, prefix, logger);
  const rescans = buildRescans(config, logger, {
    redis, events, approvals, requests, results: scanResults, inventories: inventory.inventories, internal: registry.internal, internalUrl: registry.internalUrl,
    scanners: options.scanners ?? [], enqueue: clairNotificationEnqueuer(clairQueue.queue),
  });
  metrics.watchVulndb(async () => (await inventory.status.list()).map((s) => ({ scanner: s.name, ageSeconds: s.ageSeconds })));
  metrics.watchQueue(monitorQueue.queue);
  metrics.watchQueue(clairQueue.queue);
  metrics.watchQueue(scheduler.queue);
  metrics.watchQueue(cleanup.queue);
  if (webhooks.queue) metrics.watchQueue(webhooks.queue.queue);
  // Renewed from a thread of its own (store/lease-keeper.ts): a killed worker's step is taken
  // over one short lease after its death, while a worker stalled for up to three lock periods
  // (as the upload journal allows) keeps its step. It renews at a fifth of the shorter of the two
  // leases it keeps (step leases, publish leases below), so neither lapses between renewals.
  const leaseKeeper = new LeaseKeeper({ settings: config.redis, renewEveryMs: Math.max(200, Math.floor(Math.min(config.worker.stepLeaseMs, 3 * config.worker.lockDurationMs) / 5)), maxStallMs: 3 * config.worker.lockDurationMs });
  const leases = new RedisStepLeases(redis, prefix, { ttlMs: config.worker.stepLeaseMs, keeper: leaseKeeper });
  // Promotion and the unpublish job take turns on an image (its copy takes mounts, not bytes);
  // renewed by the keeper thread, which tells a holder at once when its lease was lost.
  const publishLocks = new RedisStepLeases(redis, prefix, { ttlMs: 3 * config.worker.lockDurationMs, keeper: leaseKeeper });
  const pipeline = new Pipeline({
    requests, approvals, revocations, registry, scheduler, lifecycle, scans, policy, publishLocks,
    logger: logger.child({ module: 'pipeline' }),
    leases,
    settings: {
      quarantinePrefix: config.internalRegistry.quarantinePrefix, approvedPath: config.internalRegistry.approvedPath,
      publicHost: config.internalRegistry.publicHost ?? internalHost, approvalsRequired: config.policy.approvals.required,
      onPolicyFail: config.policy.onFail, scanAfterStage: config.worker.scanAfterStage,
    },
  });
  const auth = createIdentity(config, logger, options.identity, { redis, prefix, events });
  // Four-eyes looks up who is the same person in the current tokens file (its `sameAs` links).
  const links = (subject: string): string[] => auth.tokensFile?.linkedSubjects(subject) ?? [subject];
  // The console's CVE/package search and unique-CVE counts: each request indexed once scanned.
  events.subscribe(findingIndexer(requests, new RedisFindingIndex(redis, prefix), logger.child({ module: 'ui' })));
  const namespaceMap = new NamespaceMap(config.webhook.namespaces, config.webhook.exempt);
  const admissionLedger = admissionLedgerStore(config, redis);
  const requestService = new RequestService({ requests, approvals, revocations, scheduler, lifecycle, events, upstreams: config.upstreams.map((u) => u.registry), links });
  const revocationService = new RevocationService({ approvals, requests, revocations, cleanup, lifecycle, events, workloads: admissionLedger });
  // Alert events as ECS log lines (event.kind alert) for ELK.
  events.subscribe(alertLogger(logger.child({ module: 'alerts' })));
  const monitor = createMonitor(config, logger, redis, {
    approvals, requests, scanResults: new RedisScanResultStore(redis, prefix), events, revocations: revocationService, requestService,
    resolve: (ref) => registry.resolve(ref), links,
  }, options.monitorClock);
  metrics.watchHealth(monitor.counts);
  return {
    events, audit, scheduler, pipeline, leaseKeeper, metrics, webhooks, auth, cleanup, approvals, publishLocks, registry, monitor, inventory, monitorQueue, clairQueue, rescans, ...(uploads ? { uploads } : {}),
    ...(options.identity?.clock ? { identityClock: options.identity.clock } : {}),
    notifications: new NotificationService(webhooks.log, webhooks.endpoints.map((e) => e.name), events),
    requests: requestService,
    decisions: new DecisionService({ requests, scheduler, lifecycle, events, policy, approvalsRequired: config.policy.approvals.required, distinctGroups: config.policy.approvals.distinctGroups, links, approverGroups: approverGroupsOf(config.auth.oidc) }),
    approved: new ApprovedService({
      approvals, health: monitor.views,
      revoked: async (scope, ref) => {
        const digest = ref.digest ?? (ref.tag ? await monitor.health.revokedDigestOfTag(scope, ref.tag) : null);
        return digest ? revocations.find(scope.team, scope.image, digest) : null;
      },
    }),
    revocations: revocationService,
    admission: {
      exceptions: new ExceptionService({ store: new RedisExceptionStore(redis, prefix), events, namespaces: namespaceMap }),
      directory: new AdmissionDirectory({ namespaces: namespaceMap, workloads: admissionLedger }),
    },
    retention: new RetentionService({
      requests, registry, events, logger: logger.child({ module: 'retention' }),
      settings: { quarantinePrefix: config.internalRegistry.quarantinePrefix, quarantineDays: config.retention.quarantineDays, requestDays: config.retention.requestDays },
    }),
    waivers: new WaiverService({ requests, events, policy, maxDays: config.policy.waivers.maxDays, links }),
    codeScans: new CodeScanService({ requests, details: new RedisCodeScanStore(redis, prefix), events, policy, limits: config.codeScans }),
  };
}

/** Blobs just staged, kept for the scan that follows (none when `copy.keepStagedMb` is 0). */
function stagedBlobs(mb: number): StagedBlobs | null {
  const total = mb * 1024 * 1024;
  return total > 0 ? new StagedBlobs({ maxTotalBytes: total, maxBlobBytes: Math.floor(total / 3) }) : null;
}

/** The admission ledger in Redis: written by webhook replicas, read by the API and revocations. */
function admissionLedgerStore(config: Config, redis: Redis): RedisAdmissionLedger {
  return new RedisAdmissionLedger(redis, config.redis.prefix, { retentionMs: config.webhook.ledger.retentionDays * 24 * 3600 * 1000, streamLength: 100_000 });
}

/** The version in package.json, for portcullis_build_info (src/ when run by the tests, dist/src/ when built). */
const PACKAGE_VERSION = ((): string => {
  for (const up of ['..', '../..']) {
    try {
      return (JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as { version: string }).version;
    } catch { /* not this level */ }
  }
  return 'unknown';
})();

/** Webhook endpoints with their secrets (a missing or bad one stops the process naming the key) on the event bus. */
function webhookWiring(config: Config, redis: Redis, events: EventBus): Services['webhooks'] {
  let endpoints: Endpoint[];
  try {
    endpoints = resolveEndpoints(config.notifications.webhooks);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const log = new RedisDeliveryLog(redis, config.redis.prefix);
  if (endpoints.length === 0) return { endpoints, queue: null, log };
  const queue = new WebhookQueue(redis, config.redis.prefix);
  events.subscribe(webhookSubscriber(endpoints, queue, config.notifications.source));
  return { endpoints, queue, log };
}

/** An HTTPS server with the configured key pair, else plain HTTP (loopback, or behind a TLS proxy). */
function createServer(config: Config, handler: Parameters<typeof createHttpServer>[1]): { server: Server; scheme: 'http' | 'https' } {
  const { tlsCertFile, tlsKeyFile } = config.server;
  // The schema refuses one file without the other.
  const tls = tlsCertFile && tlsKeyFile ? readKeyPair('server', { tlsCertFile, tlsKeyFile }) : null;
  if (!tls) return { server: createHttpServer(handler), scheme: 'http' };
  try {
    return { server: createHttpsServer(tls, handler), scheme: 'https' };
  } catch (err) {
    // OpenSSL's reason (no start line, key values mismatch) says what is wrong; it holds no key material.
    throw new ConfigError(`config: server.tlsCertFile, server.tlsKeyFile: not a usable certificate and key: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** The registry gateway with the mover `config.mover` names, both on one resolver (one set of connection pools). */
/**
 * Writers of one referrers index take turns across processes (scanners/sbom/referrer-lock.ts)
 * through a Redis lease: an update takes a few registry round trips, and a killed holder's
 * lease lapses after this long.
 */
const REFERRER_LEASE_MS = 30_000;

function referrerLocks(config: Config, redis: Redis): RedisStepLeases {
  return new RedisStepLeases(redis, config.redis.prefix, { ttlMs: REFERRER_LEASE_MS });
}

export function registryGateway(config: Config, logger: Logger, redis?: Redis): RegistryWiring {
  // A session's owner counts as gone after three lock periods without renewal: longer than
  // BullMQ takes to hand its job to another worker, so a live but busy worker keeps its sessions.
  const journal = redis ? new RedisUploadJournal(redis, config.redis.prefix, { ttlMs: 3 * config.worker.lockDurationMs }) : undefined;
  const staged = stagedBlobs(config.copy.keepStagedMb);
  const resolver = new UpstreamResolver(config, { logger: logger.child({ module: 'registry' }), uploadJournal: journal, stagedBlobs: staged });
  const uploads: UploadCleanup | undefined = journal && {
    renew: () => journal.renew(),
    cancelAbandoned: () => cancelAbandonedUploads(journal, resolver.internal(), logger.child({ module: 'registry' })),
  };
  const { mover, check } = createMover(config, resolver, logger);
  const internal = resolver.internal();
  const locks = redis ? referrerLocks(config, redis) : undefined;
  const registry = new RegistryGateway({
    upstreamClient: (registry) => resolver.upstreamClient(registry),
    internal,
    internalHost: new URL(config.internalRegistry.url).host,
    mover,
    copy: { jobs: config.copy.jobs, retries: config.copy.retries },
    logger: logger.child({ module: 'promotion' }),
    // A deleted image's SBOM referrers go with it (revocation, quarantine purge).
    referrers: { detach: async (repository, digest) => { await detachSboms(internal, repository, digest, { locks }); } },
  });
  return { registry, mover, checkMover: check, ...(uploads ? { uploads } : {}), ...(staged ? { stagedBlobs: staged } : {}) };
}

/** Without a tokens file, OIDC or workloads nobody can authenticate: the API serves health only (fail closed). */
export function identityFrom(config: Config, logger: Logger, options: IdentityOptions = {}): IdentityProvider {
  return createIdentity(config, logger, options).provider;
}

/** `redis` is the `store` connection (lib/redis.ts): readiness and the shared rate limits use it. */
export async function startApi(config: Config, logger: Logger, redis: Redis, services: Services, identity: IdentityProvider, monitoring?: Monitoring): Promise<{ server: Server; port: number; step: ShutdownStep }> {
  // CI's lookups cost one Redis round trip: principals are remembered 1 s (emptied at once by
  // any identity change, api/middleware/auth-cache.ts), the per-principal limit is counted
  // here and sent to Redis in batches; failed authentications are counted in Redis exactly.
  const clock = services.identityClock;
  const cached = new CachedIdentity(identity, PRINCIPAL_CACHE_MS, clock ? () => clock().getTime() : Date.now);
  services.events.subscribe(clearOnIdentityChange(cached));
  // Subscriber mode needs a connection of its own, without the store's command deadline.
  const subscriber = createRedis(config.redis, 'worker', logger);
  const stopListening = listenIdentityChanges(subscriber, config.redis.prefix, cached, logger);
  const principalCounter = new BatchedRateCounter(new RedisRateCounter(redis, `${config.redis.prefix}:ratelimit:principal`));
  // The console's OIDC sign-in (auth.oidc.redirectUri): its routes start sessions in the console's store.
  // One session store for both sign-ins; console pages read OIDC sessions through the refresh
  // (groups re-read when due), token sessions as stored.
  const uiSessions = new RedisSessionStore(redis, config.redis.prefix, { idleMs: config.ui.idleMinutes * 60_000, lifetimeMs: config.ui.lifetimeHours * 3_600_000 });
  const signIn = config.ui.enabled ? createOidcSignIn(config, logger, redis, uiSessions) : undefined;
  // One failed-authentication counter for /v1 and the console's sign-in.
  const addresses = new RedisRateCounter(redis, `${config.redis.prefix}:ratelimit:failed-auth`);
  const app = createApp({
    logger: logger.child({ module: 'api' }),
    // Each client answers for itself: the registry client's ping() uses its caFile/insecure and credentials.
    readiness: [readinessOf('redis', { ping: () => pingRedis(redis) }), readinessOf('internalRegistry', services.registry.internal)],
    routers: [...(signIn ? [oidcSignInRouter({ oidc: signIn, redirectUri: config.auth.oidc!.redirectUri!, secureCookies: Boolean(config.server.tlsCertFile) })] : []), v1Router({
      identity: cached, ...services, robots: services.auth.robots, principals: services.auth.principals, limits: config.server,
      reviews: services.monitor.views, snapshots: services.monitor.snapshots, drift: services.monitor.driftHistory, reviewDecisions: services.monitor.reviews, clairHook: services.rescans.clairHook,
      rateCounters: {
        principals: principalCounter,
        addresses,
      },
    }), ...(config.ui.enabled ? [consoleRouter(consoleDeps(config, redis, services, identity, addresses, monitoring ?? consoleMonitoring({ views: services.monitor.views, snapshots: services.monitor.snapshots, drift: services.monitor.driftHistory, inventory: services.inventory, staleAfterMs: staleAfter(config.scanners) }), signIn ? refreshingSessions(uiSessions, signIn) : uiSessions))] : [])],
  });
  if (config.ui.enabled) {
    // Requests scanned before the finding index existed; idempotent, so every replica may run it.
    backfillFindingIndex(new RedisRequestStore(redis, config.redis.prefix), new RedisFindingIndex(redis, config.redis.prefix))
      .catch((err: unknown) => logger.warn({ error: err }, 'finding index backfill stopped'));
  }
  const { server, scheme } = createServer(config, app);
  server.listen(config.server.port, config.server.host);
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
  logger.info({ 'server.address': config.server.host, 'server.port': port, 'url.scheme': scheme }, `API listening on ${scheme}://${config.server.host}:${port}`);
  return {
    server, port,
    step: {
      name: 'api',
      run: async () => {
        await new Promise<void>((resolve, reject) => {
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeIdleConnections();
        });
        principalCounter.stop();
        stopListening();
        subscriber.disconnect();
      },
    },
  };
}

/**
 * Starts the intake worker (and the webhook worker when endpoints are configured); the scanners
 * are already in `services` (see {@link startScanners}). BullMQ makes and closes the workers'
 * own connections, with the `worker` options of lib/redis.ts (`maxRetriesPerRequest: null`,
 * which BullMQ requires for its blocking commands; Sentinel).
 */
export function startWorker(config: Config, logger: Logger, services: Services): { worker: Worker; webhooks: Worker | null; step: ShutdownStep } {
  // Loaded before the first job, so the first lease is renewed in time (it never blocks the start).
  void services.leaseKeeper.ready();
  const worker = startIntakeWorker(workerConnection(config.redis), config.redis.prefix, services.pipeline, config.worker, logger, {
    scheduler: services.scheduler.options,
    observeStep: (stage, seconds, outcome) => services.metrics.stageDuration.observe({ stage, outcome }, seconds),
  });
  const { endpoints } = services.webhooks;
  const webhooks = endpoints.length === 0 ? null : startWebhookWorker(workerConnection(config.redis), config.redis.prefix, {
    endpoints, log: services.webhooks.log, retryBaseMs: config.notifications.retryBaseMs, logger,
    observe: (outcome) => services.metrics.webhookDeliveries.inc({ outcome }),
  });
  const maintenance = startMaintenanceWorker(workerConnection(config.redis), config.redis.prefix, {
    unpublish: unpublishProcessor({ approvals: services.approvals, registry: services.registry, locks: services.publishLocks }, logger.child({ module: 'unpublish' })),
    retention: retentionProcessor(services.retention, logger.child({ module: 'retention' })),
    ...monitorProcessors(services.monitor, logger.child({ module: 'monitor' })),
  }, logger);
  scheduleRetention(services.cleanup.queue, config.retention.intervalMinutes)
    .catch((err: unknown) => logger.error({ error: err }, 'could not schedule the retention job; it runs once Redis answers and a worker restarts'));
  scheduleMonitor(services.cleanup.queue, { sweepMs: config.monitor.sweepEvery, driftMs: config.monitor.driftEvery })
    .catch((err: unknown) => logger.error({ error: err }, 'could not schedule the monitor jobs; they run once Redis answers and a worker restarts'));
  if (services.inventory.adapters.some((s) => s.type === 'harbor' || s.type === 'builtin')) {
    scheduleRescans(services.monitorQueue.queue, config.monitor.rescanEvery)
      .catch((err: unknown) => logger.error({ error: err }, 'could not schedule the rescans; they run once Redis answers and a worker restarts'));
  }
  const stopCleanup = services.uploads ? runUploadCleanup(services.uploads, config.worker.stalledIntervalMs, logger) : () => undefined;
  const stopRevocations = completeRevocations(services.revocations, SWEEP_INTERVAL_MS, logger.child({ module: 'revocation' }));
  const hygiene = startIdentityHygiene(services.auth, logger.child({ module: 'identity-hygiene' }));
  const rescanLog = logger.child({ module: 'monitor' });
  const clair = clairNotificationProcessor(services.rescans.clairNotifications, rescanLog, {
    retry: { firstMs: config.monitor.clairRetry.first, maxMs: config.monitor.clairRetry.max, giveUpAfterMs: config.monitor.clairRetry.giveUpAfter },
    observe: (scanner, outcome) => services.metrics.clairNotifications.inc({ scanner, outcome }),
  });
  const giveUpAfterMs = config.monitor.clairRetry.giveUpAfter;
  const clairWorker = startClairNotificationWorker(workerConnection(config.redis), config.redis.prefix, clair, logger, {
    sweep: clairSweepProcessor(services.clairQueue.queue, services.rescans.clairNotifications, rescanLog, { giveUpAfterMs, observe: (scanner, outcome) => services.metrics.clairNotifications.inc({ scanner, outcome }) }),
  });
  if (config.scanners.some((s) => s.type === 'clair')) {
    scheduleClairSweep(services.clairQueue.queue)
      .catch((err: unknown) => logger.error({ error: err }, 'could not schedule the Clair notification sweep; it runs once Redis answers and a worker restarts'));
  }
  // Short leases renewed by the keeper thread: a killed worker's rescan run or data sync is taken over one lease later.
  const monitorLeases = new RedisStepLeases(services.monitorQueue.redis, config.redis.prefix, { ttlMs: config.worker.stepLeaseMs, keeper: services.leaseKeeper });
  const monitorWorker = startMonitor(config, logger, services.inventory, services.monitorQueue, monitorLeases, {
    // Notifications queued on the monitor queue by an earlier version are still applied there.
    [CLAIR_NOTIFICATION_JOB]: clair,
    [RESCAN_JOB]: rescanProcessor(services.rescans.rescan, monitorLeases, rescanLog),
  })
    .catch((err: unknown) => { logger.error({ error: err }, 'the monitor worker did not start: no scheduled vulnerability data syncs in this process'); return null; });
  // close() waits for running jobs; a job still running at the deadline is handed back by stalled-job recovery.
  return { worker, webhooks, step: { name: 'worker', run: async () => { stopCleanup(); stopRevocations(); hygiene.stop(); await Promise.all([worker.close(), webhooks?.close(), maintenance.close(), clairWorker.close(), monitorWorker.then((w) => w?.close())]); await services.leaseKeeper.close(); } } };
}

/** Completes revocations a crash interrupted (intake/revocation.ts), now and every `everyMs`; harmless in several workers at once. */
function completeRevocations(revocations: RevocationService, everyMs: number, logger: Logger): () => void {
  const tick = () => {
    revocations.completePending()
      .then((ids) => { if (ids.length) logger.warn({ 'revocation.intents': ids }, 'completed revocations that a stopped process left half done'); })
      .catch((err: unknown) => logger.warn({ error: err }, 'completing interrupted revocations failed; retrying'));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Renews this worker's upload sessions and cancels those of stopped workers, now and every `everyMs`. */
function runUploadCleanup(uploads: UploadCleanup, everyMs: number, logger: Logger): () => void {
  // One tick at a time: a slow keyspace walk or a registry that is down (cancels waiting on their
  // timeouts) must not pile ticks up every few seconds.
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    uploads.renew().then(() => uploads.cancelAbandoned()).catch((err: unknown) => logger.warn({ error: err }, 'upload session cleanup failed; retrying'))
      .finally(() => { running = false; });
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The admission webhook role: HTTPS only (the API server calls it over TLS), answering from the
 * replica's in-memory approved set, loaded from the ledger and kept current over pub/sub.
 */
export async function startWebhookRole(config: Config, logger: Logger, redis: Redis): Promise<ShutdownStep[]> {
  const { tlsCertFile, tlsKeyFile } = config.webhook;
  if (!tlsCertFile || !tlsKeyFile) {
    throw new ConfigError('config: webhook.tlsCertFile: the webhook role serves HTTPS only (the Kubernetes API server calls it over TLS); set webhook.tlsCertFile and webhook.tlsKeyFile');
  }
  const tls = readKeyPair('webhook', { tlsCertFile, tlsKeyFile });
  // Subscriber mode needs a connection of its own, without the store's command deadline.
  const subscriber = createRedis(config.redis, 'worker', logger);
  const ledger = new RedisLedgerSnapshot(redis, config.redis.prefix);
  const exceptions = new RedisExceptionStore(redis, config.redis.prefix);
  // The tag index read before the approvals (a tag approved in between names an approval the
  // snapshot holds), revoked tags after them (a tag revoked in between is in one or the other).
  const source: LedgerSource = {
    snapshot: async () => {
      const approvedTags = await ledger.approvedTags();
      return { ...(await ledger.snapshot()), approvedTags, revokedTags: await ledger.revokedTags(), exceptions: await exceptions.all() };
    },
    version: () => ledger.version(),
  };
  const metrics = new Metrics({ version: PACKAGE_VERSION });
  const handle = await startAdmission({ settings: config.webhook, tls, prefix: config.redis.prefix, source, subscriber, logger, ledger: admissionLedgerStore(config, redis), registry: metrics.registry });
  const steps: ShutdownStep[] = [{ name: 'webhook', run: () => handle.stop() }, { name: 'redis subscriber', run: async () => { subscriber.disconnect(); } }];
  if (config.metrics.enabled) {
    // As in the other roles: a taken metrics port costs the replica its metrics, loudly, not its reviews.
    const started = await startMetricsServer(metrics, config.metrics).catch((err: NodeJS.ErrnoException) => {
      logger.error({ error: err, 'server.port': config.metrics.port }, `metrics not served by this process: cannot listen on ${config.metrics.host}:${config.metrics.port} (${err.code ?? err.message}); set PORTCULLIS_METRICS_PORT`);
      return null;
    });
    if (started) {
      logger.info({ 'server.address': config.metrics.host, 'server.port': started.port }, `metrics on http://${config.metrics.host}:${started.port}/metrics`);
      steps.push({ name: 'metrics', run: () => new Promise<void>((resolve) => { started.server.close(() => resolve()); started.server.closeAllConnections(); }) });
    }
  }
  return steps;
}

async function main(): Promise<void> {
  const role = parseRole(process.argv.slice(2));
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, pretty: process.env.NODE_ENV === 'development' });
  setRootLogger(logger);
  if (role === 'webhook') {
    const redis = createRedis(config.redis, 'store', logger);
    const steps = await startWebhookRole(config, logger, redis);
    onShutdown(logger, [...steps, { name: 'redis', run: async () => { await closeRedis(redis); } }]);
    logger.info({ role }, 'portcullis started');
    return;
  }
  // Fail closed before anything starts: the audit log is not written without its key.
  const auditKeys = AuditKeyring.fromEnv();
  if (role !== 'api') await checkpointDirUsable(config.audit.checkpointDir, logger);
  // The API, stores and queue adds fail fast on this one (lib/redis.ts); the worker makes its own.
  const redis = createRedis(config.redis, 'store', logger);
  const wiring = registryGateway(config, logger, redis);
  // Only workers move images: an API-only process need not reach the engine socket (root on its
  // host), so it neither pings it nor waits for it. A dead engine stops a worker naming the key.
  if (role !== 'api') {
    await wiring.checkMover();
    logger.info({ mover: wiring.mover.name, preservesDigest: wiring.mover.preservesDigest }, 'mover ready');
  }
  // Only workers scan; an API-only process neither needs the scanners nor waits for their checks.
  const scanners = role === 'api' ? [] : await startScanners(config, logger);
  const services = buildServices(config, logger, redis, { scanners, registry: wiring.registry, auditKeys, uploads: wiring.uploads, stagedBlobs: wiring.stagedBlobs, identity: { tokensFile: role !== 'worker' } });
  const steps: ShutdownStep[] = [];
  if (role !== 'worker') steps.push((await startApi(config, logger, redis, services, services.auth.provider)).step);
  if (role !== 'api') steps.push(startWorker(config, logger, services).step);
  if (config.metrics.enabled) {
    // Metrics are not part of the gate: a taken port (a second process on one host) costs this
    // process its metrics, loudly, not its work.
    const started = await startMetricsServer(services.metrics, config.metrics).catch((err: NodeJS.ErrnoException) => {
      logger.error({ error: err, 'server.port': config.metrics.port }, `metrics not served by this process: cannot listen on ${config.metrics.host}:${config.metrics.port} (${err.code ?? err.message}); set PORTCULLIS_METRICS_PORT`);
      return null;
    });
    if (started) {
      logger.info({ 'server.address': config.metrics.host, 'server.port': started.port }, `metrics on http://${config.metrics.host}:${started.port}/metrics`);
      steps.push({ name: 'metrics', run: () => new Promise<void>((resolve) => { started.server.close(() => resolve()); started.server.closeAllConnections(); }) });
    }
  }
  // Chains records whose writer died between its Lua script and its own drain (BOARD: audit outbox).
  const drain = startPeriodicDrain(services.audit, config.audit.drainIntervalMs, logger.child({ module: 'audit' }));
  steps.push({ name: 'audit drain', run: () => drain.stop() });
  if (role !== 'api') {
    const checkpoints = startCheckpointer(redis, services.audit, { everyMs: config.audit.checkpointEvery, dir: config.audit.checkpointDir, logger: logger.child({ module: 'audit' }) });
    steps.push({ name: 'audit checkpoints', run: () => checkpoints.stop() });
  }
  steps.push({ name: 'queue', run: async () => { await Promise.all([services.scheduler.close(), services.cleanup.close(), services.webhooks.queue?.close(), services.monitorQueue.close(), services.clairQueue.close()]); } });
  steps.push({ name: 'identity', run: async () => services.auth.stop() });
  steps.push({ name: 'redis', run: async () => { await closeRedis(redis); } });
  onShutdown(logger, steps);
  logger.info({ role }, 'portcullis started');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else {
      process.stderr.write(`portcullis: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(1);
  });
}
