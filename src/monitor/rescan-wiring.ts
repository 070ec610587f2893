/**
 * Builds the Clair notifier hook and job service and the scheduled rescans from the process's
 * configuration, scanner adapters and stores (main.ts calls it once per process). The API
 * process has no adapters: it gets the hook (authentication reads only the config); workers
 * get the job services.
 */
import type Redis from 'ioredis';
import type { EventBus } from '../intake';
import { ConfigError, type Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import { ClairScanner, HarborScanner, BuiltinScanner } from '../scanners';
import type { ScannerAdapter } from '../scanners/types';
import type { ApprovalStore, RequestStore, ScanResultStore } from '../store/types';
import type { RegistryClient } from '../registry/types';
import { ApprovedDigests } from './approved-digests';
import { ClairHook, type ClairHookEntry } from './clair-hook';
import { ClairNotificationService, type ClairNotifierScanner } from './clair-notifications';
import { FindingsOutbox } from './findings-outbox';
import type { RedisInventoryStore } from './inventory-store';
import { RescanService } from './rescan';

export interface RescanWiringDeps {
  redis: Redis;
  events: EventBus;
  approvals: ApprovalStore;
  requests: RequestStore;
  results: ScanResultStore;
  inventories: Pick<RedisInventoryStore, 'key'>;
  internal: RegistryClient;
  internalUrl: string;
  /** The process's scanner adapters as built (before instrumentation); empty in an API-only process. */
  scanners: readonly ScannerAdapter[];
  /** Queues a Clair notification once per id (queue/clair-notification.ts). */
  enqueue: ConstructorParameters<typeof ClairHook>[0]['enqueue'];
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
  maxPerRun?: number;
}

export interface Rescans {
  clairHook: ClairHook;
  clairNotifications: ClairNotificationService;
  rescan: RescanService;
}

/** The hook's entries: each Clair scanner with its secret read from the environment (unset: the process stops, naming the key). */
function hookEntries(config: Config, env: NodeJS.ProcessEnv): ClairHookEntry[] {
  return config.scanners.flatMap((s, i) => {
    if (s.type !== 'clair') return [];
    if (s.webhookSecretEnv === undefined) return [{ config: s }];
    const secret = env[s.webhookSecretEnv];
    if (!secret || secret.length < 16) throw new ConfigError(`config: scanners[${i}].webhookSecretEnv: ${s.webhookSecretEnv} is not set, or shorter than 16 characters`);
    return [{ config: s, secret }];
  });
}

export function buildRescans(config: Config, logger: Logger, d: RescanWiringDeps): Rescans {
  const log = logger.child({ module: 'monitor' });
  const prefix = config.redis.prefix;
  const approved = new ApprovedDigests(d.redis, prefix);
  const targets = { approvals: d.approvals, requests: d.requests, internal: d.internal, internalUrl: d.internalUrl };
  const sink = { events: d.events, outbox: new FindingsOutbox(d.redis, prefix) };
  const clairScanners = new Map<string, ClairNotifierScanner>(d.scanners.filter((s): s is ClairScanner => s instanceof ClairScanner).map((s) => [s.name, s]));
  const clairNotifications = new ClairNotificationService({ ...sink, scanners: clairScanners, approved, targets, redis: d.redis, prefix, logger: log });
  const clairHook = new ClairHook({
    entries: hookEntries(config, d.env ?? process.env), logger: log,
    // Recorded as pending first: a job lost later is queued again by the sweep (queue/clair-notification.ts).
    enqueue: async (job) => { await clairNotifications.received(job); await d.enqueue(job); },
    seen: (id) => clairNotifications.seen(id),
  });
  const rescan = new RescanService({
    ...sink, approved, targets, redis: d.redis, prefix, logger: log, periodMs: config.monitor.rescanEvery, now: d.now ?? (() => new Date()),
    periodic: d.scanners.filter((s) => s instanceof HarborScanner),
    missingInventory: d.scanners.filter((s) => s instanceof BuiltinScanner),
    hasInventory: async (scanner, digest) => (await d.redis.exists(d.inventories.key(scanner, digest))) === 1,
    ...(d.maxPerRun ? { maxPerRun: d.maxPerRun } : {}),
  });
  return { clairHook, clairNotifications, rescan };
}
