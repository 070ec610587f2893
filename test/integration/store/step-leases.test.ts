/**
 * Step leases on the real Redis (src/store/redis-step-leases.ts): of many runs asking at once
 * exactly one holds a step's lease; a released lease can be taken again; a holder whose lease
 * lapsed (its key expired while it was stalled) learns it on its next renewal, and its release
 * never frees the lease of the run that took over.
 */
import Redis from 'ioredis';
import { LeaseKeeper, RedisStepLeases } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

/** Blocks this thread's event loop, as a long synchronous parse on a loaded machine does. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* busy */ }
}

const settings = (url: string) => ({ url, prefix: 'unused', sentinels: [], commandTimeoutMs: 5000, replicasToAck: 0, replicaAckTimeoutMs: 0 });

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

  describe('renewed from the keeper thread', () => {
    const keepers: LeaseKeeper[] = [];
    const keeper = async (maxStallMs: number): Promise<LeaseKeeper> => {
      const k = new LeaseKeeper({ settings: settings(services().redis.url), renewEveryMs: 100, maxStallMs });
      keepers.push(k);
      await k.ready();
      return k;
    };
    afterEach(async () => { await Promise.all(keepers.splice(0).map((k) => k.close())); });

    it('a keeper thread that dies tells its holders their leases are lost, and the next lease starts a new thread', async () => {
      const k = await keeper(60_000);
      const leases = new RedisStepLeases(redis, prefix, { ttlMs: 1500, keeper: k });
      const lease = await leases.acquire('stage', 'dies');
      expect(lease!.held()).toBe(true);
      // The thread ends as a crashed one would (not through close()).
      await (k as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
      for (let i = 0; i < 100 && lease!.held(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(lease!.held()).toBe(false);
      // A later lease is renewed again: its TTL is pushed back past what it was set to.
      const next = await leases.acquire('stage', 'after');
      const key = leases.key('stage', 'after');
      await redis.pexpire(key, 1200);
      let ttl = 0;
      for (let i = 0; i < 100 && (ttl = await redis.pttl(key)) <= 1200; i++) await new Promise((r) => setTimeout(r, 20));
      expect(ttl).toBeGreaterThan(1200);
      expect(next!.held()).toBe(true);
      await next!.release();
      await lease!.release();
    });

    it('a holder whose event loop is blocked for several TTLs keeps its lease', async () => {
      // A TTL of 1.5 s (renewed every 100 ms) leaves the keeper thread room to be scheduled late on a
      // busy machine; the stall is still more than three TTLs.
      const leases = new RedisStepLeases(redis, prefix, { ttlMs: 1500, keeper: await keeper(60_000) });
      const lease = await leases.acquire('stage', 'r1');
      // The keeper has taken the lease in hand once the TTL has been pushed back once.
      const key = leases.key('stage', 'r1');
      await redis.pexpire(key, 1200);
      for (let i = 0; i < 100 && (await redis.pttl(key)) <= 1200; i++) await new Promise((r) => setTimeout(r, 20));
      stall(5000);
      expect(await redis.get(key)).not.toBeNull();
      expect(await leases.acquire('stage', 'r1')).toBeNull();
      expect(lease!.held()).toBe(true);
      await lease!.release();
      expect(await redis.exists(key)).toBe(0);
    });

    it('a lease released after its keeper was closed (a job ending during shutdown) starts no keeper thread', async () => {
      const k = await keeper(60_000);
      const leases = new RedisStepLeases(redis, prefix, { ttlMs: 1500, keeper: k });
      const lease = await leases.acquire('scan', 'at-shutdown');
      await k.close();
      await lease!.release();
      // A thread started here was never closed: it kept its Redis connection, and the process, alive.
      expect((k as unknown as { thread: unknown }).thread === null).toBe(true);
      expect(await leases.remainingMs('scan', 'at-shutdown')).toBeNull();
      // Nor does a lease taken after close(): it is lost at once, nothing renews it.
      const late = await leases.acquire('scan', 'after-shutdown');
      expect(late!.held()).toBe(false);
      expect((k as unknown as { thread: unknown }).thread === null).toBe(true);
      await late!.release();
    });

    it('a holder that died (its keeper gone with it) loses its lease one TTL later; another run takes it', async () => {
      const dying = await keeper(60_000);
      const other = new RedisStepLeases(redis, prefix, { ttlMs: 500, keeper: await keeper(60_000) });
      const leases = new RedisStepLeases(redis, prefix, { ttlMs: 500, keeper: dying });
      expect(await leases.acquire('scan', 'r1')).not.toBeNull();
      await dying.close();
      expect(await other.acquire('scan', 'r1')).toBeNull();
      expect(await other.remainingMs('scan', 'r1')).toBeGreaterThan(0);
      let taken = null;
      for (let i = 0; i < 200 && !taken; i++) {
        taken = await other.acquire('scan', 'r1');
        if (!taken) await new Promise((r) => setTimeout(r, 20));
      }
      expect(taken).not.toBeNull();
      await taken!.release();
      expect(await other.remainingMs('scan', 'r1')).toBeNull();
    });

    it('a holder stalled past maxStallMs is taken for hung: its lease lapses and it learns it lost it', async () => {
      const leases = new RedisStepLeases(redis, prefix, { ttlMs: 300, keeper: await keeper(500) });
      const hung = await leases.acquire('promote', 'r1');
      stall(2000);
      const taker = await leases.acquire('promote', 'r1');
      expect(taker).not.toBeNull();
      for (let i = 0; i < 200 && hung!.held(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(hung!.held()).toBe(false);
      await hung!.release();
      expect(taker!.held()).toBe(true);
      expect(await redis.exists(leases.key('promote', 'r1'))).toBe(1);
      await taker!.release();
    });
  });
});
