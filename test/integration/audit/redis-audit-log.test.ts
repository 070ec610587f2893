import Redis from 'ioredis';
import { RedisAuditLog } from '../../../src/audit';
import { services, uniqueName } from '../../harness/services';

describe('Redis audit log', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('audit');
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('chains concurrent appends from two writers without gaps', async () => {
    const a = new RedisAuditLog(redis, prefix);
    const other = new Redis(services().redis.url);
    const b = new RedisAuditLog(other, prefix);
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).append({ actor: 'x', action: 'test', target: `t/${i}` })));
    other.disconnect();
    const entries = await a.list(0, 100);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await a.verify()).toMatchObject({ ok: true, count: 20 });
    expect((await a.list(18, 10)).map((e) => e.seq)).toEqual([19, 20]);
  });

  it('fails verification naming the entry altered in Redis, and a deleted tail', async () => {
    const log = new RedisAuditLog(redis, prefix);
    for (let i = 0; i < 3; i++) await log.append({ actor: 'alice', action: 'request.created', target: `request/${i}`, details: { n: i } });
    // Stream entries cannot be edited in place: rewrite the stream with entry 2 altered.
    const rows = await redis.xrange(`${prefix}:audit`, '-', '+');
    await redis.del(`${prefix}:audit`);
    for (const [id, fields] of rows) {
      const entry = JSON.parse(fields[1]) as Record<string, unknown>;
      await redis.xadd(`${prefix}:audit`, id, 'entry', JSON.stringify(id === '2-1' ? { ...entry, actor: 'mallory' } : entry));
    }
    expect(await log.verify()).toMatchObject({ ok: false, seq: 2 });

    const prefix2 = `${prefix}:b`;
    const log2 = new RedisAuditLog(redis, prefix2);
    for (let i = 0; i < 3; i++) await log2.append({ actor: 'a', action: 'x', target: 't' });
    await redis.xdel(`${prefix2}:audit`, '3-1');
    expect(await log2.verify()).toMatchObject({ ok: false, seq: 3 });
  });
});
