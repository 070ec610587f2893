/**
 * Job `unpublish` (maintenance queue): deletes a revoked image from the internal registry,
 * after the ledger already stopped serving it. Retried with backoff for a long while (a
 * registry down for hours must not leave the image there), and it deletes nothing that a
 * completed approval of the same (team, image, digest) serves again by the time it runs (its
 * check and delete hold the image's publish lease, which promotion holds too).
 */
import { createHash } from 'node:crypto';
import { Queue, type ConnectionOptions, type Job } from 'bullmq';
import { z } from 'zod';
import { unpublishUnlessServed, type RegistryCleanup, type UnpublishTask } from '../src/intake';
import type { IntakeRegistry } from '../src/intake';
import type { Logger } from '../src/lib/logger';
import type { ApprovalStore, PublishLocks } from '../src/intake';
import { bullPrefix, MAINTENANCE_QUEUE } from './names';

export const unpublishPayload = z.strictObject({
  team: z.string().min(1).max(100),
  image: z.string().min(1).max(512),
  repository: z.string().min(1).max(512),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
});

/** About a day of tries: 20 attempts, exponential from 5 s (BullMQ caps nothing; the last waits are hours). */
export const UNPUBLISH_OPTIONS = { attempts: 20, backoff: { type: 'exponential', delay: 5000 } } as const;

/** One job per repository and digest: a second revocation of the same image while one waits adds nothing. */
function unpublishJobId(task: UnpublishTask): string {
  return `unpublish-${createHash('sha256').update(`${task.repository}@${task.digest}`).digest('hex').slice(0, 32)}`;
}

export class BullRegistryCleanup implements RegistryCleanup {
  readonly queue: Queue;

  constructor(connection: ConnectionOptions, redisPrefix: string, logger?: Logger) {
    this.queue = new Queue(MAINTENANCE_QUEUE, { connection, prefix: bullPrefix(redisPrefix) });
    // Without an `error` listener a connection fault would be thrown as an unhandled event.
    const log = logger?.child({ module: 'maintenance-queue' });
    this.queue.on('error', (err) => log?.debug({ error: err }, 'queue connection error'));
  }

  async unpublish(task: UnpublishTask): Promise<void> {
    const jobId = unpublishJobId(task);
    // A finished job is kept under its id, and BullMQ ignores an add with an existing id.
    const state = await this.queue.getJobState(jobId);
    if (state === 'failed' || state === 'completed') await this.queue.remove(jobId);
    await this.queue.add('unpublish', unpublishPayload.parse(task), { ...UNPUBLISH_OPTIONS, jobId, removeOnComplete: true, removeOnFail: { age: 30 * 24 * 3600 } });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export function unpublishProcessor(deps: { approvals: Pick<ApprovalStore, 'get'>; registry: Pick<IntakeRegistry, 'unpublish'>; locks?: PublishLocks }, logger: Logger): (job: Job) => Promise<void> {
  return async (job) => {
    const task = unpublishPayload.parse(job.data);
    const outcome = await unpublishUnlessServed(deps, task);
    logger.info({ repository: task.repository, digest: task.digest, outcome, 'job.attempt': job.attemptsMade + 1 }, outcome === 'deleted' ? 'revoked image deleted from the registry' : 'revoked image approved again since: kept');
  };
}
