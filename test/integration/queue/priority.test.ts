/**
 * The intake queue's order (real Redis, real BullMQ): later steps first (promote, scan, stage,
 * resolve), and within a step a team's burst does not hold another team's single request
 * behind it. One worker with concurrency 1 records the order it is handed the jobs.
 */
import { Worker } from 'bullmq';
import Redis from 'ioredis';
import { bullPrefix, INTAKE_QUEUE } from '../../../queue/names';
import { jobPriority } from '../../../queue/priority';
import { BullScheduler } from '../../../queue/scheduler';
import type { PipelineStep } from '../../../src/intake';
import { services, uniqueName } from '../../harness/services';

describe('intake queue order', () => {
  let redis: Redis;
  let prefix: string;
  let queue: BullScheduler;
  const backlog = new Map<string, number>();

  beforeEach(() => {
    redis = new Redis(services().redis.url, { maxRetriesPerRequest: null });
    prefix = uniqueName('prio');
    backlog.clear();
    queue = new BullScheduler(redis, prefix, { backlog: async (team, step) => backlog.get(`${team}/${step}`) ?? 0 });
  });
  afterEach(async () => {
    await queue.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** Queues `step` for request `id` of `team` as the n-th of the team's requests waiting for it. */
  async function add(step: PipelineStep, id: string, team: string): Promise<void> {
    const key = `${team}/${step}`;
    backlog.set(key, (backlog.get(key) ?? 0) + 1);
    await queue.schedule(step, id, team);
  }

  async function order(expected: number): Promise<string[]> {
    const seen: string[] = [];
    let done!: () => void;
    const all = new Promise<void>((resolve) => { done = resolve; });
    const connection = redis.duplicate();
    const worker = new Worker(INTAKE_QUEUE, async (job) => {
      seen.push(`${job.name}:${(job.data as { requestId: string }).requestId}`);
      if (seen.length === expected) done();
    }, { connection, prefix: bullPrefix(prefix), concurrency: 1 });
    await all;
    await worker.close();
    connection.disconnect();
    return seen;
  }

  it('takes promotion, then scans, then staging, then new requests, whatever the order they were queued in', async () => {
    await add('resolve', 'r1', 'payments');
    await add('stage', 's1', 'payments');
    await add('scan', 'c1', 'payments');
    await add('resolve', 'r2', 'payments');
    await add('promote', 'p1', 'payments');
    await add('stage', 's2', 'payments');
    expect(await order(6)).toEqual(['promote:p1', 'scan:c1', 'stage:s1', 'stage:s2', 'resolve:r1', 'resolve:r2']);
  });

  it('serves another team\'s single request right after the first of a burst, not after the whole burst', async () => {
    for (let i = 1; i <= 20; i += 1) await add('resolve', `a${i}`, 'bulk');
    await add('resolve', 'b1', 'payments');
    const seen = await order(21);
    expect(seen.indexOf('resolve:b1')).toBe(1);
    // The burst itself keeps its arrival order.
    expect(seen.filter((s) => s !== 'resolve:b1')).toEqual(Array.from({ length: 20 }, (_, i) => `resolve:a${i + 1}`));
  });

  it('keeps every priority inside the range BullMQ accepts, bands never overlapping', () => {
    expect(jobPriority('promote', 0)).toBe(1);
    expect(jobPriority('resolve', 10 ** 9)).toBe(2 ** 21 - 1);
    expect(jobPriority('promote', 10 ** 9)).toBeLessThan(jobPriority('scan', 0));
    expect(jobPriority('scan', 10 ** 9)).toBeLessThan(jobPriority('stage', 0));
    expect(jobPriority('stage', 10 ** 9)).toBeLessThan(jobPriority('resolve', 0));
  });
});
