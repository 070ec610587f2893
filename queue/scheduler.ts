/** The JobScheduler of the intake services, on a BullMQ queue. */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { JobScheduler, PipelineStep } from '../src/intake/ports';
import { JOBS } from './jobs';
import { bullPrefix, INTAKE_QUEUE, jobId } from './names';

export class BullScheduler implements JobScheduler {
  readonly queue: Queue;

  constructor(connection: ConnectionOptions, redisPrefix: string) {
    this.queue = new Queue(INTAKE_QUEUE, { connection, prefix: bullPrefix(redisPrefix) });
  }

  async schedule(step: PipelineStep, requestId: string): Promise<void> {
    await this.queue.add(step, { requestId }, {
      ...JOBS[step].options,
      jobId: jobId(step, requestId),
      // Completed jobs go at once, so a later duplicate runs (and finds nothing to do) instead of being swallowed.
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
