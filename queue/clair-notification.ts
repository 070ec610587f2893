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
 *
 * Lost jobs: a job whose worker dies mid-run is handed back by BullMQ's stalled check, but
 * after more than `maxStalledCount` such stalls (a notification that crashes its worker, or
 * workers killed repeatedly) BullMQ fails it for good, and Clair will not deliver it again.
 * So the hook records each notification as pending (src/monitor/clair-notifications.ts) and
 * job `clair-sweep` ({@link CLAIR_SWEEP_EVERY_MS}, one scheduler for every worker) queues again
 * every pending notification whose job is failed, finished or gone; the job id is the
 * notification id, so a sweep never makes a second job of one that is queued or running, and a
 * notification already applied is only forgotten. One pending past `giveUpAfter` since it was
 * first accepted is given up instead (the alert), as the job itself would have.
 */
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type Redis from 'ioredis';
import { z } from 'zod';
import { isAppError } from '../src/lib/errors';
import type { Logger } from '../src/lib/logger';
import type { ClairNotificationService } from '../src/monitor/clair-notifications';
import { bullPrefix } from './names';

export const CLAIR_NOTIFICATION_JOB = 'clair-notification';
/** Queues again the pending notifications whose job was lost (see the top of this file). */
export const CLAIR_SWEEP_JOB = 'clair-sweep';
/** How often the sweep runs: a lost notification waits about this long before it is queued again. */
export const CLAIR_SWEEP_EVERY_MS = 60_000;
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
  /** Epoch ms the notification was first accepted, when a sweep queued it again (the give-up bound counts from it, not from this job). */
  firstSeen: z.number().int().min(0).optional(),
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
    // A finished job keeps its id for a while: a later delivery (or the sweep) replaces it.
    const state = await queue.getJobState(id);
    if (state === 'failed' || state === 'completed') await queue.remove(id);
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

export function clairNotificationProcessor(service: Pick<ClairNotificationService, 'process' | 'abandon' | 'forget'>, logger: Logger, options: ClairProcessorOptions): (job: Job, token?: string) => Promise<unknown> {
  const now = options.now ?? Date.now;
  return async (job, token) => {
    const data = clairNotificationPayload.parse(job.data);
    const n = { scanner: data.scanner, notificationId: data.notificationId, callback: data.callback };
    try {
      const out = await service.process(n);
      options.observe?.(data.scanner, 'applied');
      return { skipped: out.skipped, manifests: out.manifests, reread: out.reread.length, changed: out.changed.length };
    } catch (err) {
      if (isAppError(err) && err.code === 'CALLBACK_REFUSED') {
        await service.forget(data.notificationId);
        throw new UnrecoverableError(err.message);
      }
      const tries = (data.tries ?? 0) + 1;
      const delay = clairRetryDelay(tries, options.retry);
      const log = { error: err, 'clair.notification_id': data.notificationId, scanner: data.scanner, tries };
      const since = data.firstSeen ?? job.timestamp;
      if (now() + delay - since > options.retry.giveUpAfterMs) {
        await service.abandon(n, { tries, firstSeen: new Date(since).toISOString(), error: err instanceof Error ? err.message : String(err) });
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

export interface ClairSweepOutcome {
  /** Notification ids queued again. */
  requeued: string[];
  /** Given up (past `giveUpAfter` since first accepted). */
  abandoned: string[];
}

/** Job states in which a pending notification has no job that will still apply it. */
const LOST = new Set(['failed', 'completed', 'unknown']);

/**
 * The sweep: every pending notification whose job is failed, finished or gone is queued again
 * (or given up past `giveUpAfter`). Harmless when several run at once: the add is one per id.
 */
export function clairSweepProcessor(queue: Queue, service: Pick<ClairNotificationService, 'pending' | 'isPending' | 'abandon'>, logger: Logger,
  options: Pick<ClairProcessorOptions, 'observe' | 'now'> & { giveUpAfterMs: number }): () => Promise<ClairSweepOutcome> {
  const now = options.now ?? Date.now;
  const enqueue = clairNotificationEnqueuer(queue);
  return async () => {
    const out: ClairSweepOutcome = { requeued: [], abandoned: [] };
    for (const p of await service.pending()) {
      const id = clairJobId(p.notificationId);
      const state = await queue.getJobState(id);
      if (!LOST.has(state)) continue;
      // Listed before its job finished applying it (completed since): not lost, no false alert.
      if (!(await service.isPending(p.notificationId))) continue;
      const job = state === 'unknown' ? undefined : await queue.getJob(id);
      const tries = clairNotificationPayload.safeParse(job?.data).data?.tries ?? 0;
      const n = { scanner: p.scanner, notificationId: p.notificationId, callback: p.callback };
      if (now() - p.firstSeen > options.giveUpAfterMs) {
        await service.abandon(n, { tries, firstSeen: new Date(p.firstSeen).toISOString(), error: job?.failedReason ?? `its job was ${state === 'unknown' ? 'lost' : state} before it was applied` });
        options.observe?.(p.scanner, 'abandoned');
        out.abandoned.push(p.notificationId);
        continue;
      }
      await enqueue({ ...n, tries, firstSeen: p.firstSeen });
      out.requeued.push(p.notificationId);
    }
    if (out.requeued.length || out.abandoned.length) {
      logger.warn({ 'clair.requeued': out.requeued, 'clair.abandoned': out.abandoned }, 'Clair notifications whose job was lost (failed after worker crashes, or gone): queued again');
    }
    return out;
  };
}

/** Creates or updates the sweep's schedule (idempotent: every worker calls it at start). */
export async function scheduleClairSweep(queue: Queue, everyMs = CLAIR_SWEEP_EVERY_MS): Promise<void> {
  await queue.upsertJobScheduler(CLAIR_SWEEP_JOB, { every: everyMs }, { name: CLAIR_SWEEP_JOB, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } } });
}

export interface ClairWorkerOptions {
  /** @defaultValue {@link CLAIR_CONCURRENCY} */
  concurrency?: number;
  /** Runs job `clair-sweep` ({@link clairSweepProcessor}); without it the job fails. */
  sweep?: () => Promise<unknown>;
  /** BullMQ's stall handling (tests shorten it). @defaultValue 5 stalls, BullMQ's lock and check periods */
  stalled?: { maxStalledCount?: number; lockDuration?: number; stalledInterval?: number };
}

/** The worker of the notification queue (each worker process runs one). */
export function startClairNotificationWorker(connection: ConnectionOptions, redisPrefix: string, processor: ReturnType<typeof clairNotificationProcessor>, logger: Logger,
  options: ClairWorkerOptions = {}): Worker {
  const log = logger.child({ module: 'clair' });
  const { sweep } = options;
  const worker = new Worker(CLAIR_QUEUE, async (job, token) => {
    if (job.name === CLAIR_SWEEP_JOB && sweep) return sweep();
    if (job.name !== CLAIR_NOTIFICATION_JOB) throw new UnrecoverableError(`unknown job ${job.name} on the ${CLAIR_QUEUE} queue`);
    return processor(job, token);
  }, {
    connection, prefix: bullPrefix(redisPrefix), concurrency: options.concurrency ?? CLAIR_CONCURRENCY,
    // A run is idempotent (the notification's marker): a job handed back after worker crashes
    // runs again; one failed after too many is queued again by the sweep.
    maxStalledCount: 5,
    ...options.stalled,
  });
  worker.on('failed', (job, err) => log.warn({ error: err, 'job.name': job?.name, 'job.id': job?.id }, 'Clair notification job failed'));
  worker.on('error', (err) => log.error({ error: err }, 'Clair notification worker error'));
  return worker;
}
