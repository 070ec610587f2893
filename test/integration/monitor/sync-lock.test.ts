/**
 * One sync at a time across workers, on the real Redis: of two workers that try to sync the
 * same scanner at once, one runs and the other is told it is held; the lock is released by its
 * holder only. The schedule is one BullMQ job scheduler entry per scanner, whatever the number
 * of workers that upsert it.
 */
import Redis from 'ioredis';
import { MonitorQueue, syncSchedulerId, withLock } from '../../../queue/vulndb-sync';
import { services, uniqueName } from '../../harness/services';

describe('vulndb sync: one worker at a time', () => {
  let redis: Redis;
  beforeAll(() => { redis = new Redis(services().redis.url); });
  afterAll(() => { redis.disconnect(); });

  it('lets one of many concurrent holders run; the others get null', async () => {
    const key = `${uniqueName('lock')}:vulndb-sync:builtin`;
    let running = 0;
    let maxRunning = 0;
    const attempt = () => withLock(redis, key, 60_000, async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 200));
      running -= 1;
      return 'ran';
    });
    const results = await Promise.all(Array.from({ length: 8 }, attempt));
    expect(results.filter((r) => r === 'ran')).toHaveLength(1);
    expect(results.filter((r) => r === null)).toHaveLength(7);
    expect(maxRunning).toBe(1);
    // Released: the next one runs.
    expect(await attempt()).toBe('ran');
  });

  it('keeps one scheduler entry per scanner however many workers upsert it', async () => {
    const prefix = uniqueName('sched');
    const queues = [new MonitorQueue(redis, prefix), new MonitorQueue(redis, prefix), new MonitorQueue(redis, prefix)];
    try {
      await Promise.all(queues.map((q) => q.scheduleSyncs([{ scanner: 'builtin', everyMs: 6 * 3600_000 }])));
      const schedulers = await queues[0]!.queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toEqual([syncSchedulerId('builtin')]);
      expect(schedulers[0]).toMatchObject({ every: 6 * 3600_000, name: 'vulndb-sync' });
    } finally {
      await queues[0]!.queue.obliterate({ force: true });
      await Promise.all(queues.map((q) => q.close()));
    }
  });
});
