import Redis, { type RedisOptions } from 'ioredis';
import { AppError, toAppError } from '../../../src/lib/errors';
import { isRedisUnavailable } from '../../../src/lib/redis-errors';
import { redisOptions, type RedisSettings } from '../../../src/lib/redis';
import { services } from '../../harness/services';

const settings: RedisSettings = { url: 'redis://127.0.0.1:1', prefix: 'x', sentinels: [], commandTimeoutMs: 300, replicasToAck: 0, replicaAckTimeoutMs: 100 };

/** The error a real ioredis command gives under `options`. */
async function commandError(url: string, options: RedisOptions): Promise<unknown> {
  const redis = new Redis(url, options);
  redis.on('error', () => undefined);
  try {
    await redis.get('k');
    return undefined;
  } catch (err) {
    return err;
  } finally {
    redis.disconnect();
  }
}

describe('Redis unavailability maps to 503 DEPENDENCY_UNAVAILABLE in one place', () => {
  it("recognises a store connection's command timing out while Redis is away", async () => {
    const err = await commandError(settings.url, { ...redisOptions(settings, 'store') });
    expect(isRedisUnavailable(err)).toBe(true);
    expect(toAppError(err)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', status: 503, temporary: true });
  });

  it('recognises a command refused while offline and a connection flushed after its retries', async () => {
    expect(isRedisUnavailable(await commandError(settings.url, { enableOfflineQueue: false, lazyConnect: true }))).toBe(true);
    expect(isRedisUnavailable(await commandError(settings.url, { maxRetriesPerRequest: 0, retryStrategy: () => 10 }))).toBe(true);
  });

  it('maps an INTERNAL error caused by Redis being away, and leaves other errors alone', async () => {
    const cause = await commandError(settings.url, { ...redisOptions(settings, 'store') });
    expect(toAppError(new AppError('INTERNAL', 'wrapped', { cause }))).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    const live = new Redis(services().redis.url);
    const script = await live.eval('return redis.error_reply("ERR boom")', 0).then(() => undefined, (e: unknown) => e);
    live.disconnect();
    expect(isRedisUnavailable(script)).toBe(false);
    expect(toAppError(script).code).toBe('INTERNAL');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
    expect(toAppError(new TypeError('fetch failed', { cause: refused })).code).toBe('INTERNAL');
    expect(toAppError(new AppError('NOT_FOUND', 'no such request')).code).toBe('NOT_FOUND');
  });

  it('gives the worker connection no deadline and BullMQ its maxRetriesPerRequest: null, and the store one neither', () => {
    expect(redisOptions(settings, 'worker')).toMatchObject({ maxRetriesPerRequest: null });
    expect(redisOptions(settings, 'worker').commandTimeout).toBeUndefined();
    expect(redisOptions(settings, 'store')).toMatchObject({ commandTimeout: 300, autoResendUnfulfilledCommands: false });
    expect(redisOptions(settings, 'store').maxRetriesPerRequest).not.toBeNull();
    expect(redisOptions({ ...settings, sentinels: [{ host: '127.0.0.1', port: 26379 }], sentinelName: 'm' }, 'store')).toMatchObject({ sentinels: [{ host: '127.0.0.1', port: 26379 }], name: 'm' });
  });
});
