/**
 * A Redis connection and a key prefix of each test's own (STYLE #9: isolated per test), with
 * the prefix's keys deleted and the connection closed after it. Call inside a describe block.
 */
import Redis from 'ioredis';
import { services, uniqueName } from './services';

export interface PerTestRedis {
  /** This test's connection. */
  readonly redis: Redis;
  /** This test's key prefix. */
  readonly prefix: string;
}

export function redisPerTest(name: string): PerTestRedis {
  let redis: Redis | undefined;
  let prefix = '';
  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName(name);
  });
  afterEach(async () => {
    const keys = await redis!.keys(`${prefix}:*`);
    if (keys.length) await redis!.del(...keys);
    redis!.disconnect();
  });
  return {
    get redis() { return redis!; },
    get prefix() { return prefix; },
  };
}
