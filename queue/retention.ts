/**
 * Job `retention` (maintenance queue): a BullMQ job scheduler runs it every
 * `retention.intervalMinutes`; it deletes quarantine manifests and request records past their
 * retention (src/intake/retention.ts). Several workers share one scheduler entry, so it runs
 * once per interval, not once per worker.
 */
import type { Job, Queue } from 'bullmq';
import type { RetentionService } from '../src/intake';
import type { Logger } from '../src/lib/logger';

export const RETENTION_SCHEDULER_ID = 'retention';

/** Creates or updates the schedule (idempotent: every worker calls it at start). */
export async function scheduleRetention(queue: Queue, intervalMinutes: number): Promise<void> {
  await queue.upsertJobScheduler(RETENTION_SCHEDULER_ID, { every: intervalMinutes * 60_000 }, {
    name: 'retention', data: {}, opts: { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } },
  });
}

export function retentionProcessor(retention: Pick<RetentionService, 'run'>, logger: Logger): (job: Job) => Promise<void> {
  return async (job) => {
    const out = await retention.run();
    logger.info({ 'job.id': job.id, purged: out.purged.length, kept: out.kept.length, expired: out.expired.length }, 'retention run');
  };
}
