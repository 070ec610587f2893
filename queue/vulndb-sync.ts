/**
 * The monitor queue (issue 13.2): job `vulndb-sync` per builtin scanner with a `sync` section,
 * run by a BullMQ job scheduler every `sync.every` (several workers share one scheduler entry,
 * so it runs once per interval, not once per worker), and job `clair-notification` (a Clair
 * notifier delivery, paged and applied after the hook has answered). The worker takes one job
 * at a time; a sync also holds a lease per scanner, so a run that outlives its interval is
 * not overlapped by the next one on another worker. A run whose lease lapsed under it (its
 * worker stalled, or cut off from Redis, past the lease) confirms the lease before it swaps the
 * data in and before it re-matches, and stops there with LEASE_LOST: never two swaps at once.
 *
 * The lease is the step lease the rescan job holds (src/store/redis-step-leases.ts, taken
 * through lib/lease-wait.ts): short (`worker.stepLeaseMs`) and renewed by the process's lease
 * keeper thread while the sync runs. It used to be a plain lock with a 6-hour TTL, never renewed:
 * a worker killed mid-sync blocked every sync of that scanner for up to 6 hours, and a sync
 * longer than that could be overlapped. Now a killed worker's sync is taken over one lease later.
 */
import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type Redis from 'ioredis';
import type { Config } from '../src/lib/config';
import { withLease, type Leases } from '../src/lib/lease-wait';
import type { Logger } from '../src/lib/logger';
import { workerConnection } from '../src/lib/redis';
import type { Inventory } from '../src/monitor/inventory-wiring';
import type { VulndbSyncService } from '../src/monitor/vulndb-sync';
import { bullPrefix } from './names';

export const MONITOR_QUEUE = 'monitor';
export const VULNDB_SYNC_JOB = 'vulndb-sync';

export function syncSchedulerId(scanner: string): string {
  return `vulndb-sync-${scanner}`;
}

export class MonitorQueue {
  readonly queue: Queue;

  constructor(readonly redis: Redis, redisPrefix: string, log?: Logger) {
    this.queue = new Queue(MONITOR_QUEUE, { connection: redis, prefix: bullPrefix(redisPrefix) });
    // Without a listener a Redis outage would print raw errors to stderr; the store reports outages.
    this.queue.on('error', (err) => log?.debug({ error: err }, 'queue connection error'));
  }

  /** Creates or updates each scanner's schedule (idempotent: every worker calls it at start). */
  async scheduleSyncs(schedules: ReadonlyArray<{ scanner: string; everyMs: number }>): Promise<void> {
    for (const s of schedules) {
      await this.queue.upsertJobScheduler(syncSchedulerId(s.scanner), { every: s.everyMs }, {
        name: VULNDB_SYNC_JOB, data: { scanner: s.scanner },
        opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } },
      });
    }
  }

  /** Queues one job now (a Clair notification; a sync asked for by hand). */
  async add(name: string, data: Record<string, unknown>, jobId?: string): Promise<void> {
    await this.queue.add(name, data, {
      ...(jobId ? { jobId } : {}),
      attempts: 8, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** The scope of a sync's lease; its key is the scanner's name. */
export const SYNC_LEASE_SCOPE = 'vulndb-sync';

/** Another worker holds the scanner's sync lease. */
class SyncHeldElsewhere extends Error {}

/**
 * The `vulndb-sync` job: syncs the scanner while holding its lease, or is skipped when another
 * worker's sync holds it (tried once, not waited for: that sync brings the data up to date).
 */
export function vulndbSyncProcessor(vulndb: Pick<VulndbSyncService, 'sync'>, leases: Leases, logger: Logger): (job: Job) => Promise<unknown> {
  const log = logger.child({ module: 'monitor' });
  return async (job) => {
    const name = String((job.data as { scanner?: unknown }).scanner);
    try {
      const ran = await withLease(leases, SYNC_LEASE_SCOPE, name, { waitMs: 0, busy: () => new SyncHeldElsewhere() }, (lease) => vulndb.sync(name, lease));
      return { after: ran.after, changed: ran.before !== ran.after };
    } catch (err) {
      if (!(err instanceof SyncHeldElsewhere)) throw err;
      log.info({ scanner: name }, 'a sync of this scanner is already running on another worker; skipped');
      return { skipped: true };
    }
  };
}

export type MonitorProcessors = Record<string, (job: Job) => Promise<unknown>>;

export function startMonitorWorker(connection: ConnectionOptions, redisPrefix: string, processors: MonitorProcessors, logger: Logger): Worker {
  const log = logger.child({ module: 'monitor' });
  const worker = new Worker(MONITOR_QUEUE, async (job) => {
    const processor = processors[job.name];
    if (!processor) throw new Error(`unknown monitor job ${job.name}`);
    return processor(job);
  }, { connection, prefix: bullPrefix(redisPrefix), concurrency: 1 });
  worker.on('failed', (job, err) => log.warn({ error: err, 'job.name': job?.name, 'job.id': job?.id, 'job.attempt': job?.attemptsMade }, 'monitor job failed'));
  worker.on('error', (err) => log.error({ error: err }, 'monitor worker error'));
  return worker;
}

/**
 * Worker side: records each scanner's data version, schedules the syncs and runs the monitor
 * queue's jobs (`extra`: the Clair notification processor). Returns the worker to close at shutdown.
 */
export async function startMonitor(config: Config, logger: Logger, monitor: Inventory, queue: MonitorQueue, leases: Leases, extra: MonitorProcessors = {}): Promise<Worker> {
  const log = logger.child({ module: 'monitor' });
  for (const scanner of monitor.adapters) {
    await scanner.dbVersion().then((v) => monitor.status.observe(scanner.name, v))
      .catch((err: unknown) => log.warn({ error: err, scanner: scanner.name }, 'could not record the scanner\'s data version'));
  }
  const schedules = config.scanners.flatMap((s) => (s.type === 'builtin' && s.sync && monitor.vulndb.scanners.includes(s.name) ? [{ scanner: s.name, everyMs: s.sync.every }] : []));
  await queue.scheduleSyncs(schedules);
  return startMonitorWorker(workerConnection(config.redis), config.redis.prefix, {
    ...extra,
    [VULNDB_SYNC_JOB]: vulndbSyncProcessor(monitor.vulndb, leases, logger),
  }, logger);
}
