/**
 * withLease (src/lib/lease-wait.ts) on the real Redis step leases: many contenders from
 * several connections (as several processes would) take turns, and a read-modify-write of a
 * Redis counter under the lease loses no update; a contender gives up after its bound with the
 * caller's error; a crashed holder's lease lapses and a waiting contender gets it; a lease is
 * renewed while the work outlives its TTL; a holder's check() before a write confirms and renews
 * its lease, and fails with LEASE_LOST once the lease lapsed and another took it.
 */
import Redis from 'ioredis';
import { AppError } from '../../../src/lib/errors';
import { withLease, type Lease, type Leases } from '../../../src/lib/lease-wait';
import { LeaseKeeper, RedisStepLeases } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

const settings = (url: string) => ({ url, prefix: 'unused', sentinels: [], commandTimeoutMs: 5000, replicasToAck: 0, replicaAckTimeoutMs: 0 });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Leases that count how often a contender was turned away. */
function counted(leases: Leases): Leases & { refused: number } {
  const counter = {
    refused: 0,
    acquire: async (scope: string, key: string): Promise<Lease | null> => {
      const lease = await leases.acquire(scope, key);
      if (!lease) counter.refused += 1;
      return lease;
    },
  };
  return counter;
}

describe('withLease on Redis', () => {
  let redis: Redis;
  let prefix: string;
  const connections: Redis[] = [];
  const keepers: LeaseKeeper[] = [];

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('lease-wait');
  });
  afterEach(async () => {
    await Promise.all(keepers.splice(0).map((k) => k.close()));
    for (const c of connections.splice(0)) c.disconnect();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A connection of its own, as another process would have. */
  const connection = (): Redis => {
    const c = new Redis(services().redis.url);
    connections.push(c);
    return c;
  };

  it('lets 24 contenders from 4 connections in one at a time: each runs once and no read-modify-write is lost', async () => {
    const conns = Array.from({ length: 4 }, connection);
    await Promise.all(conns.map((c) => c.ping()));
    const processes = conns.map((c) => counted(new RedisStepLeases(c, prefix, { ttlMs: 30_000 })));
    const counter = `${prefix}:counter`;
    let inside = 0;
    let most = 0;
    const ran: number[] = [];
    await Promise.all(Array.from({ length: 24 }, (_, i) => withLease(processes[i % 4], 'test', 'shared', { waitMs: 120_000, maxPauseMs: 50 }, async (lease) => {
      inside += 1;
      most = Math.max(most, inside);
      expect(lease.held()).toBe(true);
      // A read, a round trip, a write: two holders at once would write the same value.
      const seen = Number(await redis.get(counter) ?? 0);
      await redis.ping();
      await redis.set(counter, String(seen + 1));
      ran.push(i);
      inside -= 1;
    })));
    expect(most).toBe(1);
    expect(Number(await redis.get(counter))).toBe(24);
    expect([...ran].sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    // They did contend: contenders were turned away and waited.
    expect(processes.reduce((n, p) => n + p.refused, 0)).toBeGreaterThan(0);
    // Every lease was released.
    expect(await redis.keys(`${prefix}:step-lease:*`)).toEqual([]);
  });

  it('runs other keys side by side, and releases the lease when the work throws', async () => {
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 30_000 });
    const entered: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const both = Promise.all(['a', 'b'].map((key) => withLease(leases, 'test', key, { waitMs: 0 }, async () => {
      entered.push(key);
      if (entered.length === 2) release();
      await gate;
    })));
    // Both got in at once (a wait of 0 would have thrown CONFLICT for the second otherwise).
    await both;
    expect(entered.sort()).toEqual(['a', 'b']);
    await expect(withLease(leases, 'test', 'a', { waitMs: 0 }, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await leases.remainingMs('test', 'a')).toBeNull();
  });

  it('gives up after waitMs with the caller\'s error (CONFLICT, temporary, by default) and never runs the work', async () => {
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 30_000 });
    const holder = await leases.acquire('test', 'k');
    let ran = false;
    const work = async (): Promise<void> => { ran = true; };
    const err = await withLease(leases, 'test', 'k', { waitMs: 0 }, work).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'CONFLICT', temporary: true });
    await expect(withLease(leases, 'test', 'k', { waitMs: 50, busy: () => new AppError('SCAN_FAILED', 'mine') }, work)).rejects.toMatchObject({ code: 'SCAN_FAILED', message: 'mine' });
    expect(ran).toBe(false);
    // The holder's lease is untouched by the ones that gave up.
    expect(holder!.held()).toBe(true);
    expect(await leases.acquire('test', 'k')).toBeNull();
    await holder!.release();
  });

  it('without leases just runs the work, held throughout', async () => {
    expect(await withLease(undefined, 'test', 'k', { waitMs: 0 }, async (lease) => lease.held())).toBe(true);
  });

  it('a crashed holder\'s lease lapses and a waiting contender takes it', async () => {
    // The crashed process: it took the lease, then its connection went (no renewal, no release).
    const crashedRedis = connection();
    const crashed = new RedisStepLeases(crashedRedis, prefix, { ttlMs: 30_000, renewEveryMs: 20 });
    expect(await crashed.acquire('test', 'k')).not.toBeNull();
    const key = crashed.key('test', 'k');
    const token = await redis.get(key);
    crashedRedis.disconnect();

    const leases = counted(new RedisStepLeases(redis, prefix, { ttlMs: 30_000 }));
    await expect(withLease(leases, 'test', 'k', { waitMs: 0 }, async () => undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
    let seen: string | null = null;
    const waiting = withLease(leases, 'test', 'k', { waitMs: 120_000, maxPauseMs: 50 }, async (lease) => {
      seen = await redis.get(key);
      return lease.held();
    });
    // It is waiting (turned away again), then the crashed holder's TTL runs out (shortened here,
    // rather than waited for: nobody renews it any more).
    for (let i = 0; i < 500 && leases.refused < 3; i++) await pause(10);
    expect(leases.refused).toBeGreaterThanOrEqual(3);
    await redis.pexpire(key, 100);
    expect(await waiting).toBe(true);
    expect(seen).not.toBeNull();
    expect(seen).not.toBe(token);
    expect(await redis.exists(key)).toBe(0);
  });

  it('keeps the lease while the work outlives its TTL: renewed (from the keeper thread), contenders wait until it ends', async () => {
    const keeper = new LeaseKeeper({ settings: settings(services().redis.url), renewEveryMs: 100, maxStallMs: 60_000 });
    keepers.push(keeper);
    await keeper.ready();
    const ttlMs = 1500;
    const leases = new RedisStepLeases(redis, prefix, { ttlMs, keeper });
    const other = counted(new RedisStepLeases(connection(), prefix, { ttlMs }));
    const order: string[] = [];
    let token: string | null = null;
    const holding = withLease(leases, 'test', 'long', { waitMs: 0 }, async (lease) => {
      token = await redis.get(leases.key('test', 'long'));
      order.push('holder in');
      const started = Date.now();
      // Work that lasts three TTLs; a contender is turned away all along.
      while (Date.now() - started < 3 * ttlMs) {
        await expect(withLease(other, 'test', 'long', { waitMs: 0 }, async () => undefined)).rejects.toMatchObject({ code: 'CONFLICT' });
        await pause(100);
      }
      expect(lease.held()).toBe(true);
      expect(await redis.get(leases.key('test', 'long'))).toBe(token);
      order.push('holder out');
    });
    // A contender that waits gets in once the holder is done.
    for (let i = 0; i < 500 && order.length === 0; i++) await pause(10);
    const waiter = withLease(other, 'test', 'long', { waitMs: 120_000, maxPauseMs: 50 }, async () => { order.push('waiter in'); });
    await Promise.all([holding, waiter]);
    expect(order).toEqual(['holder in', 'holder out', 'waiter in']);
    expect(token).not.toBeNull();
  });
  describe.each([
    ['renewed from the event loop', false],
    ['renewed from the keeper thread', true],
  ])('check() before a write (%s)', (_, withKeeper) => {
    const leasesFor = async (): Promise<RedisStepLeases> => {
      if (!withKeeper) return new RedisStepLeases(redis, prefix, { ttlMs: 30_000, renewEveryMs: 60_000 });
      const keeper = new LeaseKeeper({ settings: settings(services().redis.url), renewEveryMs: 60_000, maxStallMs: 60_000 });
      keepers.push(keeper);
      await keeper.ready();
      return new RedisStepLeases(redis, prefix, { ttlMs: 30_000, keeper });
    };

    it('passes and renews while the lease is held; once it lapsed and another took it, throws LEASE_LOST and held() turns false', async () => {
      const leases = await leasesFor();
      const key = leases.key('test', 'k');
      let writes = 0;
      let other: Lease | null = null;
      const err = await withLease(leases, 'test', 'k', { waitMs: 0 }, async (lease) => {
        // Renewed by the check itself: its TTL is back to the full 30 s.
        await redis.pexpire(key, 5000);
        await lease.check('the first write');
        expect(await redis.pttl(key)).toBeGreaterThan(5000);
        writes += 1;
        // What a stall past the TTL lets happen: the key expires and another holder takes it.
        await redis.del(key);
        other = await leases.acquire('test', 'k');
        expect(other).not.toBeNull();
        expect(lease.held()).toBe(true); // no renewal has run yet: only the check can tell
        try {
          await lease.check('the second write');
          writes += 1;
        } finally {
          expect(lease.held()).toBe(false);
        }
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'LEASE_LOST', temporary: true });
      expect((err as Error).message).toMatch(/before the second write/);
      expect(writes).toBe(1);
      // The stalled holder's release left the new holder's lease alone.
      expect(await leases.acquire('test', 'k')).toBeNull();
      await other!.release();
      expect(await redis.exists(key)).toBe(0);
    });
  });
});
