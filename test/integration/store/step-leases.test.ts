/**
 * Step leases on the real Redis (src/store/redis-step-leases.ts): of many runs asking at once
 * exactly one holds a step's lease; a released lease can be taken again; a holder whose lease
 * lapsed (its key expired while it was stalled) learns it on its next renewal, and its release
 * never frees the lease of the run that took over.
 */
import Redis from 'ioredis';
import { RedisStepLeases } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

describe('step leases on Redis', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('leases');
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('gives a step of a request to exactly one of 20 runs asking at once, and again once released', async () => {
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 60_000 });
    const got = await Promise.all(Array.from({ length: 20 }, () => leases.acquire('stage', 'r1')));
    const holders = got.filter((l) => l !== null);
    expect(holders).toHaveLength(1);
    // Another step, or another request, is another lease.
    const scan = await leases.acquire('scan', 'r1');
    const other = await leases.acquire('stage', 'r2');
    expect(scan).not.toBeNull();
    expect(other).not.toBeNull();
    expect(await leases.acquire('stage', 'r1')).toBeNull();
    await holders[0]!.release();
    const next = await leases.acquire('stage', 'r1');
    expect(next).not.toBeNull();
    await Promise.all([next!.release(), scan!.release(), other!.release()]);
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it('a holder whose lease lapsed sees it lost, and its release leaves the new holder\'s lease alone', async () => {
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 60_000, renewEveryMs: 20 });
    const stalled = await leases.acquire('scan', 'r1');
    expect(stalled?.held()).toBe(true);
    // What a stall past the TTL does: the key expires under its holder.
    await redis.del(leases.key('scan', 'r1'));
    const taker = await leases.acquire('scan', 'r1');
    expect(taker).not.toBeNull();
    for (let i = 0; i < 500 && stalled!.held(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(stalled!.held()).toBe(false);
    await stalled!.release();
    expect(await leases.acquire('scan', 'r1')).toBeNull();
    expect(taker!.held()).toBe(true);
    await taker!.release();
    expect(await redis.exists(leases.key('scan', 'r1'))).toBe(0);
  });

  it('renews a held lease: its TTL is pushed back while the run goes on', async () => {
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 60_000, renewEveryMs: 20 });
    const lease = await leases.acquire('promote', 'r1');
    // Shorten the TTL by hand; the holder's next renewal sets it back to the full 60 s.
    await redis.pexpire(leases.key('promote', 'r1'), 30_000);
    let ttl = 0;
    for (let i = 0; i < 500 && ttl <= 30_000; i++) {
      await new Promise((r) => setTimeout(r, 20));
      ttl = await redis.pttl(leases.key('promote', 'r1'));
    }
    expect(ttl).toBeGreaterThan(30_000);
    await lease!.release();
  });
});
