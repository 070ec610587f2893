import type { NextFunction, Request, Response } from 'express';
import Redis from 'ioredis';
import { rateLimit, unauthenticatedRateLimit } from '../../../src/api/middleware/rate-limit';
import { AppError } from '../../../src/lib/errors';
import { BatchedRateCounter, RedisRateCounter } from '../../../src/lib/rate-counter';
import { services, uniqueName } from '../../harness/services';

// The counters live in the harness's real Redis; the clock is the test's, so windows are exact.
let redis: Redis;
let prefix: string;
beforeAll(() => { redis = new Redis(services().redis.url); });
beforeEach(() => { prefix = uniqueName('rl'); });
afterAll(async () => {
  const keys = await redis.keys('rl-*');
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

/** A counter under this test's prefix; two of them with one `name` share counts, as two API replicas do. */
const counter = (now: () => number, name = 'c') => new RedisRateCounter(redis, `${prefix}:${name}`, now);

async function call(mw: ReturnType<typeof rateLimit>, name: string): Promise<unknown> {
  const res = { locals: { principal: { name } }, setHeader: () => undefined } as unknown as Response;
  return new Promise((resolve) => mw({} as Request, res, ((err?: unknown) => resolve(err)) as NextFunction));
}

describe('per-principal rate limit', () => {
  it('refuses the request over the limit with RATE_LIMITED, per principal, and resets a minute after the first hit', async () => {
    let t = 0;
    const mw = rateLimit(2, counter(() => t));
    expect(await call(mw, 'a')).toBeUndefined();
    expect(await call(mw, 'a')).toBeUndefined();
    expect(await call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(await call(mw, 'b')).toBeUndefined();
    t = 60_000;
    expect(await call(mw, 'a')).toBeUndefined();
  });

  it("starts each principal's window at its own first request, so a burst cannot straddle a minute", async () => {
    let t = 0;
    const mw = rateLimit(2, counter(() => t));
    expect(await call(mw, 'early')).toBeUndefined();
    t = 50_000;
    expect(await call(mw, 'a')).toBeUndefined();
    expect(await call(mw, 'a')).toBeUndefined();
    t = 61_000;
    expect(await call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED' });
    t = 110_000;
    expect(await call(mw, 'a')).toBeUndefined();
  });

  it('is one limit across API replicas: two processes share the count in Redis', async () => {
    const t = 1_000;
    const replicaA = rateLimit(3, counter(() => t));
    const other = new Redis(services().redis.url);
    const replicaB = rateLimit(3, new RedisRateCounter(other, `${prefix}:c`, () => t));
    expect(await call(replicaA, 'ci')).toBeUndefined();
    expect(await call(replicaB, 'ci')).toBeUndefined();
    expect(await call(replicaA, 'ci')).toBeUndefined();
    expect(await call(replicaB, 'ci')).toMatchObject({ code: 'RATE_LIMITED' });
    other.disconnect();
  });

  it('counts concurrent hits exactly (one atomic script per hit)', async () => {
    const mw = rateLimit(50, counter(() => 5));
    const results = await Promise.all(Array.from({ length: 80 }, () => call(mw, 'burst')));
    expect(results.filter((r) => r === undefined)).toHaveLength(50);
    expect(results.filter((r) => (r as AppError | undefined)?.code === 'RATE_LIMITED')).toHaveLength(30);
  });

  it('0 disables the limit', async () => {
    const mw = rateLimit(0, counter(() => 0));
    for (let i = 0; i < 5; i++) expect(await call(mw, 'a')).toBeUndefined();
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it('fails closed: with Redis unreachable the request gets an error, not a pass', async () => {
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    const mw = rateLimit(10, new RedisRateCounter(down, `${prefix}:down`));
    const err = await call(mw, 'a');
    expect(err).toBeInstanceOf(Error);
    down.disconnect();
  });
});

describe('per-address limit of failed authentications', () => {
  const unauthenticated = () => new AppError('UNAUTHENTICATED', 'the bearer token is not valid');
  /** One request through the limiter, an authentication that fails or not, `refuse`, and the count after the answer. */
  async function request(mw: ReturnType<typeof unauthenticatedRateLimit>, address: string, authenticated: boolean): Promise<unknown> {
    let onFinish: () => void = () => undefined;
    const res = { statusCode: 200, setHeader: () => undefined, once: (_e: string, f: () => void) => { onFinish = f; } } as unknown as Response;
    const req = { socket: { remoteAddress: address } } as unknown as Request;
    const passed = await new Promise<unknown>((resolve) => {
      mw(req, res, ((err?: unknown) => {
        if (err !== undefined) return resolve(err);
        if (authenticated) return resolve(undefined);
        mw.refuse(unauthenticated(), req, res, ((e?: unknown) => resolve(e)) as NextFunction);
      }) as NextFunction);
    });
    res.statusCode = passed === undefined ? 200 : (passed as AppError).status;
    onFinish();
    // The count happens after the answer; a PING on the same connection returns after it.
    await redis.ping();
    return passed;
  }
  // The middleware's counter uses the shared `redis` connection, so the PING above orders after its hit.
  const limiter = (perMinute: number, now: () => number) => unauthenticatedRateLimit(perMinute, counter(now, 'addr'));
  const tracked = async () => (await redis.keys(`${prefix}:addr:*`)).length;

  it('answers 429 instead of 401 to an address after N failed authentications in its window', async () => {
    let t = 0;
    const mw = limiter(3, () => t);
    for (let i = 0; i < 10; i++) expect(await request(mw, '10.0.0.1', true)).toBeUndefined();
    for (let i = 0; i < 3; i++) expect(await request(mw, '10.0.0.2', false)).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(await request(mw, '10.0.0.2', false)).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(await request(mw, '10.0.0.1', false)).toMatchObject({ code: 'UNAUTHENTICATED' });
    t = 60_000;
    expect(await request(mw, '10.0.0.2', false)).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('lets a valid token through from a limited address (a proxy: every client shares one)', async () => {
    const mw = limiter(30, () => 0);
    for (let i = 0; i < 35; i++) await request(mw, '10.0.0.5', false);
    expect(await request(mw, '10.0.0.5', false)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(await request(mw, '10.0.0.5', true)).toBeUndefined();
  });

  it('tracks an address only when it fails authentication', async () => {
    const mw = limiter(30, () => 0);
    for (let i = 0; i < 100; i++) await request(mw, `10.1.0.${i}`, true);
    expect(await tracked()).toBe(0);
    await request(mw, '10.2.0.1', false);
    await request(mw, '10.2.0.1', false);
    expect(await tracked()).toBe(1);
  });

  it('keeps no address longer than its window: each key expires with it', async () => {
    const mw = limiter(30, () => 10_000);
    await request(mw, '2001:db8::1', false);
    const [key] = await redis.keys(`${prefix}:addr:*`);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});

describe('per-principal rate limit counted in batches (one Redis trip per key and flush, not per request)', () => {
  it('refuses over the limit without waiting for a flush, and two replicas share the count once flushed', async () => {
    let t = 0;
    const shared = (name: string) => new RedisRateCounter(redis, `${prefix}:${name}`, () => t);
    const one = new BatchedRateCounter(shared('p'), 60_000, () => t);
    const two = new BatchedRateCounter(shared('p'), 60_000, () => t);
    const mw1 = rateLimit(5, one);
    const mw2 = rateLimit(5, two);
    for (let i = 0; i < 3; i++) expect(await call(mw1, 'a')).toBeUndefined();
    // Only the window's first hit reached Redis so far.
    expect(await redis.hget(`${prefix}:p:a`, 'count')).toBe('1');
    await one.flush();
    expect(await redis.hget(`${prefix}:p:a`, 'count')).toBe('3');
    expect(await call(mw2, 'a')).toBeUndefined(); // learns 4 from Redis
    expect(await call(mw2, 'a')).toBeUndefined(); // 5, locally
    expect(await call(mw2, 'a')).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    await two.flush();
    expect(await redis.hget(`${prefix}:p:a`, 'count')).toBe('6');
    // The window ends for everyone a minute after its first hit.
    t = 60_000;
    expect(await call(mw1, 'a')).toBeUndefined();
    expect(await redis.hget(`${prefix}:p:a`, 'count')).toBe('1');
    one.stop();
    two.stop();
  });

  it('counts the hits a flush has sent while Redis has not answered yet: no request over the limit passes meanwhile', async () => {
    let t = 0;
    const base = new RedisRateCounter(redis, `${prefix}:slow`, () => t);
    let hold: Promise<void> | null = null;
    const slow = Object.assign(Object.create(base) as RedisRateCounter, {
      hitMany: async (key: string, hits: number) => {
        const answer = await base.hitMany(key, hits);
        if (hold) await hold;
        return answer;
      },
    });
    const counter = new BatchedRateCounter(slow, 60_000, () => t);
    const mw = rateLimit(5, counter);
    for (let i = 0; i < 4; i++) expect(await call(mw, 'a')).toBeUndefined();
    let release!: () => void;
    hold = new Promise((r) => { release = r; });
    // The flush sends 3 pending hits and waits on Redis's answer: the 5th hit passes, the 6th is over.
    const flushing = counter.flush();
    expect(await call(mw, 'a')).toBeUndefined();
    expect(await call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    release();
    await flushing;
    expect(await call(mw, 'a')).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    counter.stop();
  });

  it('fails closed while Redis is away: a new window cannot be learned, so the request fails instead of passing', async () => {
    const broken = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    const mw = rateLimit(5, new BatchedRateCounter(new RedisRateCounter(broken, `${prefix}:x`), 60_000));
    expect(await call(mw, 'a')).toBeInstanceOf(Error);
    broken.disconnect();
  });
});
