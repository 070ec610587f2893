/** The JobScheduler of the intake services, on a BullMQ queue. */
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../src/lib/logger';
import type { JobInspector, JobScheduler, PipelineStep } from '../src/intake';
import { JOBS } from './jobs';
import { bullPrefix, INTAKE_QUEUE, jobId } from './names';
import { jobPriority } from './priority';

/** Job states in which the step is still going to run (or running). */
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export interface SchedulerOptions {
  /**
   * How many of `team`'s requests wait for `step` now (see ./priority.ts); without it, or
   * without a team, every job of a step has the same priority.
   */
  backlog?: (team: string, step: PipelineStep) => Promise<number>;
}

export class BullScheduler implements JobScheduler, JobInspector {
  readonly queue: Queue;

  /**
   * `connection`: a `store` connection (lib/redis.ts) where adds must fail fast (the API), or a
   * worker's own. `logger` gets the queue's connection errors: without an `error` listener
   * BullMQ prints them to stderr as plain text dumps.
   */
  constructor(connection: ConnectionOptions, redisPrefix: string, readonly options: SchedulerOptions = {}, logger?: Logger) {
    this.queue = new Queue(INTAKE_QUEUE, { connection, prefix: bullPrefix(redisPrefix) });
    const log = logger?.child({ module: 'queue' });
    this.queue.on('error', (err) => log?.debug({ error: err }, 'queue connection error'));
  }

  async schedule(step: PipelineStep, requestId: string, team?: string): Promise<void> {
    const id = jobId(step, requestId);
    const backlog = team && this.options.backlog ? await this.options.backlog(team, step) : 0;
    // A failed job is kept (for inspection) under the same id, and BullMQ ignores an add with
    // an existing id: without removing it, a request whose job failed could never be resumed.
    const state = await this.queue.getJobState(id);
    if (state === 'failed' || state === 'completed') await this.queue.remove(id);
    await this.queue.add(step, { requestId }, {
      ...JOBS[step].options,
      jobId: id,
      priority: jobPriority(step, backlog),
      // Completed jobs go at once, so a later duplicate runs (and finds nothing to do) instead of being swallowed.
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  async isLive(step: PipelineStep, requestId: string): Promise<boolean> {
    return LIVE_STATES.has(await this.queue.getJobState(jobId(step, requestId)));
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
