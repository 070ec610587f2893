/**
 * Job `clair-notification` (issue 13.2): one Clair notifier delivery, queued by `POST
 * /hooks/clair` and applied by src/monitor/clair-notifications.ts. The job id is the
 * notification id, so concurrent or repeated deliveries of one notification make one job
 * (BullMQ ignores an add whose id exists; its add is one Lua script); a job kept as failed
 * is replaced, so a later delivery tries again. A refused callback is not retried.
 *
 * Its own queue and worker, apart from the monitor queue: the monitor queue runs one job at a
 * time (a vulnerability data sync and its re-match, a Harbor rescan run: minutes to hours,
 * heavy on CPU or on the scanner, and meant not to overlap), and a notification behind one of
 * them waited that long. Priorities would not help (they order waiting jobs; a running rescan
 * still holds the only slot), and raising that queue's concurrency would let the heavy jobs run
 * side by side too. Notifications are light (a few HTTP reads per digest) and independent of
 * each other, so their queue takes {@link CLAIR_CONCURRENCY} at once.
 *
 * Retries: Clair does not deliver a notification again once the hook answered 200, so a job
 * that fails is never left failed while it may still succeed. It waits (BullMQ's delayed set, in
 * Redis: it survives restarts) `monitor.clairRetry.first`, doubling up to `max`, and runs again,
 * until `giveUpAfter` from the job's creation has passed; then it is given up: an alert
 * (`clair.notification_abandoned`) and the counter `portcullis_clair_notifications_total`
 * `{outcome="abandoned"}`. The notification is deleted at Clair only once applied.
 */
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type Redis from 'ioredis';
import { z } from 'zod';
import { isAppError } from '../src/lib/errors';
import type { Logger } from '../src/lib/logger';
import type { ClairNotificationService } from '../src/monitor/clair-notifications';
import { bullPrefix } from './names';

export const CLAIR_NOTIFICATION_JOB = 'clair-notification';
export const CLAIR_QUEUE = 'clair-notifications';
/** Notifications applied at once per worker process. */
export const CLAIR_CONCURRENCY = 4;

/** Clair's notification ids are UUIDs (quay/clair notifier: uuid.UUID): safe in a job id and a key. */
export const notificationIdSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');

export const clairNotificationPayload = z.strictObject({
  scanner: z.string().min(1),
  notificationId: notificationIdSchema,
  callback: z.string().min(1).max(2048),
  /** Failed runs so far (the next delay doubles with each). */
  tries: z.number().int().min(0).optional(),
});
export type ClairNotificationPayload = z.infer<typeof clairNotificationPayload>;

export const clairJobId = (notificationId: string): string => `clair-notification-${notificationId.toLowerCase()}`;

/** One attempt per run: retries are the processor's delayed re-runs, bounded by age rather than by count. */
const JOB_OPTS = { attempts: 1, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } } as const;

export interface ClairRetryPolicy {
  firstMs: number;
  maxMs: number;
  giveUpAfterMs: number;
}

/** Delay before the run after the `tries`-th failure (1-based): first, 2×first, … capped at max. */
export function clairRetryDelay(tries: number, p: Pick<ClairRetryPolicy, 'firstMs' | 'maxMs'>): number {
  return Math.min(p.maxMs, p.firstMs * 2 ** Math.min(Math.max(0, tries - 1), 30));
}

export class ClairNotificationQueue {
  readonly queue: Queue;

  constructor(readonly redis: Redis, redisPrefix: string, log?: Logger) {
    this.queue = new Queue(CLAIR_QUEUE, { connection: redis, prefix: bullPrefix(redisPrefix) });
    // Without a listener a Redis outage would print raw errors to stderr; the store reports outages.
    this.queue.on('error', (err) => log?.debug({ error: err }, 'queue connection error'));
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/** The hook's queue port: one job per notification id. */
export function clairNotificationEnqueuer(queue: Queue): (job: ClairNotificationPayload) => Promise<void> {
  return async (job) => {
    const data = clairNotificationPayload.parse(job);
    const id = clairJobId(data.notificationId);
    if ((await queue.getJobState(id)) === 'failed') await queue.remove(id);
    await queue.add(CLAIR_NOTIFICATION_JOB, data, { ...JOB_OPTS, jobId: id });
  };
}

export type ClairOutcome = 'applied' | 'retried' | 'abandoned';

export interface ClairProcessorOptions {
  retry: ClairRetryPolicy;
  /** Told each run's outcome (the counter). */
  observe?: (scanner: string, outcome: ClairOutcome) => void;
  /** @defaultValue Date.now */
  now?: () => number;
}

export function clairNotificationProcessor(service: Pick<ClairNotificationService, 'process' | 'abandon'>, logger: Logger, options: ClairProcessorOptions): (job: Job, token?: string) => Promise<unknown> {
  const now = options.now ?? Date.now;
  return async (job, token) => {
    const data = clairNotificationPayload.parse(job.data);
    const n = { scanner: data.scanner, notificationId: data.notificationId, callback: data.callback };
    try {
      const out = await service.process(n);
      options.observe?.(data.scanner, 'applied');
      return { skipped: out.skipped, manifests: out.manifests, reread: out.reread.length, changed: out.changed.length };
    } catch (err) {
      if (isAppError(err) && err.code === 'CALLBACK_REFUSED') throw new UnrecoverableError(err.message);
      const tries = (data.tries ?? 0) + 1;
      const delay = clairRetryDelay(tries, options.retry);
      const log = { error: err, 'clair.notification_id': data.notificationId, scanner: data.scanner, tries };
      if (now() + delay - job.timestamp > options.retry.giveUpAfterMs) {
        await service.abandon(n, { tries, firstSeen: new Date(job.timestamp).toISOString(), error: err instanceof Error ? err.message : String(err) });
        options.observe?.(data.scanner, 'abandoned');
        throw new UnrecoverableError(`Clair notification ${data.notificationId} given up after ${tries} tries: ${err instanceof Error ? err.message : String(err)}`);
      }
      logger.warn({ ...log, delayMs: delay }, 'Clair notification not applied yet: will retry');
      await job.updateData({ ...data, tries });
      // Needs the worker's lock token: a run without one (a job queued on the monitor queue by an
      // earlier version, whose worker passes none) just fails and keeps its own attempts.
      if (!token) throw err;
      await job.moveToDelayed(now() + delay, token);
      options.observe?.(data.scanner, 'retried');
      throw new DelayedError();
    }
  };
}

/** The worker of the notification queue (each worker process runs one). */
export function startClairNotificationWorker(connection: ConnectionOptions, redisPrefix: string, processor: ReturnType<typeof clairNotificationProcessor>, logger: Logger,
  concurrency = CLAIR_CONCURRENCY): Worker {
  const log = logger.child({ module: 'clair' });
  const worker = new Worker(CLAIR_QUEUE, async (job, token) => {
    if (job.name !== CLAIR_NOTIFICATION_JOB) throw new UnrecoverableError(`unknown job ${job.name} on the ${CLAIR_QUEUE} queue`);
    return processor(job, token);
  }, {
    connection, prefix: bullPrefix(redisPrefix), concurrency,
    // A run is idempotent (the notification's marker): a job handed back after worker crashes runs again.
    maxStalledCount: 5,
  });
  worker.on('failed', (job, err) => log.warn({ error: err, 'job.name': job?.name, 'job.id': job?.id }, 'Clair notification job failed'));
  worker.on('error', (err) => log.error({ error: err }, 'Clair notification worker error'));
  return worker;
}
