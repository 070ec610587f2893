/**
 * Job `clair-notification` on the monitor queue (issue 13.2): one Clair notifier delivery,
 * queued by `POST /hooks/clair` and applied by src/monitor/clair-notifications.ts. The job id
 * is the notification id, so concurrent or repeated deliveries of one notification make one
 * job (BullMQ ignores an add whose id exists; its add is one Lua script); a job kept as failed
 * is replaced, so a later delivery tries again. A refused callback is not retried.
 */
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import { z } from 'zod';
import { isAppError } from '../src/lib/errors';
import type { Logger } from '../src/lib/logger';
import type { ClairNotificationService } from '../src/monitor/clair-notifications';

export const CLAIR_NOTIFICATION_JOB = 'clair-notification';

/** Clair's notification ids are UUIDs (quay/clair notifier: uuid.UUID): safe in a job id and a key. */
export const notificationIdSchema = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');

export const clairNotificationPayload = z.strictObject({
  scanner: z.string().min(1),
  notificationId: notificationIdSchema,
  callback: z.string().min(1).max(2048),
});
export type ClairNotificationPayload = z.infer<typeof clairNotificationPayload>;

export const clairJobId = (notificationId: string): string => `clair-notification-${notificationId.toLowerCase()}`;

const JOB_OPTS = { attempts: 8, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } } as const;

/** The hook's queue port: one job per notification id. */
export function clairNotificationEnqueuer(queue: Queue): (job: ClairNotificationPayload) => Promise<void> {
  return async (job) => {
    const data = clairNotificationPayload.parse(job);
    const id = clairJobId(data.notificationId);
    if ((await queue.getJobState(id)) === 'failed') await queue.remove(id);
    await queue.add(CLAIR_NOTIFICATION_JOB, data, { ...JOB_OPTS, jobId: id });
  };
}

export function clairNotificationProcessor(service: Pick<ClairNotificationService, 'process'>, logger: Logger): (job: Job) => Promise<unknown> {
  return async (job) => {
    const data = clairNotificationPayload.parse(job.data);
    try {
      const out = await service.process(data);
      return { skipped: out.skipped, manifests: out.manifests, reread: out.reread.length, changed: out.changed.length };
    } catch (err) {
      if (isAppError(err) && err.code === 'CALLBACK_REFUSED') throw new UnrecoverableError(err.message);
      logger.warn({ error: err, 'clair.notification_id': data.notificationId, 'job.attempt': job.attemptsMade + 1 }, 'Clair notification not applied yet: will retry');
      throw err;
    }
  };
}
