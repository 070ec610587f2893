/**
 * A request waiting for another run of the same digest (RunInProgress) backs off: each wait
 * is counted on the job (real BullMQ on real Redis) and the delay doubles up to a cap,
 * instead of re-delaying every 5 s for as long as the other request awaits approval.
 */
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { MAX_WAIT_FOR_RUN_MS, STEP_RECHECK_MIN_MS, stepProcessor, stepWaitDelay, waitDelay, WAIT_FOR_RUN_MS } from '../../../queue/job';
import { resolveJob } from '../../../queue/resolve';
import { RunInProgress, StepInProgress, type Pipeline } from '../../../src/intake';
import { createLogger } from '../../../src/lib/logger';
import { services, uniqueName } from '../../harness/services';

describe('waiting for another run of the same digest', () => {
  it('doubles the wait up to a cap', () => {
    expect([0, 1, 2, 3].map(waitDelay)).toEqual([WAIT_FOR_RUN_MS, 2 * WAIT_FOR_RUN_MS, 4 * WAIT_FOR_RUN_MS, 8 * WAIT_FOR_RUN_MS]);
    expect(waitDelay(50)).toBe(MAX_WAIT_FOR_RUN_MS);
    expect(waitDelay(1000)).toBe(MAX_WAIT_FOR_RUN_MS);
  });

  it('a step held by another run is re-checked just after the holder\'s lease would lapse, never later than the doubling wait', () => {
    expect(stepWaitDelay(3, 2000)).toBe(2000 + STEP_RECHECK_MIN_MS);
    expect(stepWaitDelay(0, 0)).toBe(STEP_RECHECK_MIN_MS);
    expect(stepWaitDelay(0, 60_000)).toBe(WAIT_FOR_RUN_MS);
    expect(stepWaitDelay(4, undefined)).toBe(waitDelay(4));
  });

  it('counts its waits on the job and delays it by the next wait', async () => {
    const redis = new Redis(services().redis.url, { maxRetriesPerRequest: null });
    const prefix = uniqueName('wait');
    const queue = new Queue('intake', { connection: redis, prefix });
    const pipeline = { run: async () => { throw new RunInProgress('holder'); } } as unknown as Pipeline;
    const connection = redis.duplicate();
    let runs = 0;
    const processor = stepProcessor(resolveJob, pipeline, createLogger({ level: 'silent' }));
    const worker = new Worker('intake', async (job, token) => { runs++; await processor(job, token); }, { connection, prefix });
    try {
      const job = await queue.add('resolve', { requestId: 'r1', waits: 2 }, { jobId: 'resolve-r1' });
      const before = Date.now();
      for (let i = 0; i < 200 && runs === 0; i++) await new Promise((r) => setTimeout(r, 20));
      for (let i = 0; i < 200 && (await queue.getJobState('resolve-r1')) !== 'delayed'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await queue.getJobState(job.id!)).toBe('delayed');
      const delayed = await queue.getJob(job.id!);
      expect(delayed?.data).toEqual({ requestId: 'r1', waits: 3 });
      // Delayed until about now + waitDelay(2) (20 s), far beyond the old fixed 5 s.
      const [, score] = await redis.zrange(`${prefix}:intake:delayed`, '0', '0', 'WITHSCORES');
      const until = Math.floor(Number(score) / 0x1000);
      expect(until).toBeGreaterThanOrEqual(before + waitDelay(2));
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      redis.disconnect();
    }
  });

  it('delays a job turned away by a step lease until just after that lease would lapse', async () => {
    const redis = new Redis(services().redis.url, { maxRetriesPerRequest: null });
    const prefix = uniqueName('wait');
    const queue = new Queue('intake', { connection: redis, prefix });
    const pipeline = { run: async () => { throw new StepInProgress('r1', 'resolve', 3000); } } as unknown as Pipeline;
    const connection = redis.duplicate();
    const processor = stepProcessor(resolveJob, pipeline, createLogger({ level: 'silent' }));
    const worker = new Worker('intake', processor, { connection, prefix });
    try {
      const before = Date.now();
      const job = await queue.add('resolve', { requestId: 'r1', waits: 2 }, { jobId: 'resolve-r1' });
      for (let i = 0; i < 200 && (await queue.getJobState('resolve-r1')) !== 'delayed'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await queue.getJobState(job.id!)).toBe('delayed');
      const [, score] = await redis.zrange(`${prefix}:intake:delayed`, '0', '0', 'WITHSCORES');
      const until = Math.floor(Number(score) / 0x1000);
      // Not waitDelay(2) (20 s): the lease of the run holding the step lapses in 3 s unless renewed.
      expect(until).toBeGreaterThanOrEqual(before + 3000 + STEP_RECHECK_MIN_MS);
      expect(until).toBeLessThan(before + waitDelay(2));
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
      redis.disconnect();
    }
  });
});
