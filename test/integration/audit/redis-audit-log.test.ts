import Redis from 'ioredis';
import { auditSubscriber, RedisAuditLog, startPeriodicDrain } from '../../../src/audit';
import { createLogger } from '../../../src/lib/logger';
import { services, uniqueName } from '../../harness/services';

const quiet = createLogger({ level: 'silent' });

/** What a ledger script does: the state change and its audit record, in one script. */
const CHANGE_WITH_RECORD = `
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('XADD', KEYS[2], '*', 'record', ARGV[2])
`;

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

  it('loses nothing with 64 concurrent writers on 64 connections, each chained once, and the chain verifies', async () => {
    const conns = Array.from({ length: 64 }, () => new Redis(services().redis.url));
    try {
      const logs = conns.map((c) => new RedisAuditLog(c, prefix, { timeoutMs: 60000 }));
      const perWriter = 3;
      const returned = await Promise.all(logs.map(async (log, w) => {
        const out = [];
        for (let i = 0; i < perWriter; i++) out.push(await log.append({ actor: `w${w}`, action: 'test.append', target: `t/${w}/${i}`, details: { w, i } }));
        return out;
      }));
      const entries = await logs[0].list(0, 1000);
      expect(entries).toHaveLength(64 * perWriter);
      expect(new Set(entries.map((e) => e.target)).size).toBe(64 * perWriter);
      // Each append returned its own entry, as chained.
      for (const [w, own] of returned.entries()) {
        expect(own.map((e) => e.target)).toEqual(Array.from({ length: perWriter }, (_, i) => `t/${w}/${i}`));
        for (const e of own) expect(entries[e.seq - 1]).toEqual(e);
      }
      expect(await logs[0].verify()).toMatchObject({ ok: true, count: 64 * perWriter });
      expect(await redis.xlen(`${prefix}:audit:outbox`)).toBe(0);
    } finally {
      for (const c of conns) c.disconnect();
    }
  });

  it('chains, in outbox order and once, records that a Lua script wrote with its state change, even with drainers racing', async () => {
    const records = Array.from({ length: 30 }, (_, i) => ({ actor: 'alice', action: 'request.approved', target: `request/${i}`, details: { team: 'payments', i }, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    for (const [i, r] of records.entries()) await redis.eval(CHANGE_WITH_RECORD, 2, `${prefix}:state:${i}`, `${prefix}:audit:outbox`, 'approved', JSON.stringify(r));
    const conns = Array.from({ length: 8 }, () => new Redis(services().redis.url));
    try {
      const counts = await Promise.all(conns.map((c) => new RedisAuditLog(c, prefix, { batch: 4 }).drain()));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    } finally {
      for (const c of conns) c.disconnect();
    }
    const log = new RedisAuditLog(redis, prefix);
    const entries = await log.list(0, 100);
    expect(entries.map((e) => ({ actor: e.actor, action: e.action, target: e.target, details: e.details, at: e.at }))).toEqual(records);
    expect(await log.verify()).toMatchObject({ ok: true, count: 30 });
    expect(await log.drain()).toBe(0);
  });

  it('drains of one process run one at a time: a drain asked for while one runs shares the next, which chains the caller\'s record', async () => {
    const log = new RedisAuditLog(redis, prefix, { batch: 4 });
    const write = (i: number) => redis.eval(CHANGE_WITH_RECORD, 2, `${prefix}:state:${i}`, `${prefix}:audit:outbox`, 'approved',
      JSON.stringify({ actor: 'alice', action: 'request.approved', target: `request/${i}`, details: {}, at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    const runs = jest.spyOn(log as unknown as { drainOnce(): Promise<number> }, 'drainOnce');
    for (let i = 0; i < 10; i += 1) await write(i);
    // The first drain asks for the newest record before the eleventh is written (one connection:
    // commands in order), so only a later run can chain that one.
    const first = log.drain();
    const written = write(10);
    const later = Array.from({ length: 10 }, () => log.drain());
    await written;
    const counts = await Promise.all([first, ...later]);
    expect(runs).toHaveBeenCalledTimes(2);
    // The callers that came later share one count: the second run's (the first may have taken the eleventh in its last batch).
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(counts[0] + counts[1]).toBe(11);
    expect(await redis.xlen(`${prefix}:audit:outbox`)).toBe(0);
    expect((await log.list(0, 100)).map((e) => e.target)).toEqual(Array.from({ length: 11 }, (_, i) => `request/${i}`));
    expect(await log.verify()).toMatchObject({ ok: true, count: 11 });
  });

  it('never runs two drains at once, also for a caller resumed by the run that just ended, and a failed run does not hold the queued callers', async () => {
    const log = new RedisAuditLog(redis, prefix, { batch: 4 });
    const inner = log as unknown as { drainOnce(): Promise<number> };
    const real = inner.drainOnce.bind(log);
    let running = 0;
    let most = 0;
    let failNext = true;
    jest.spyOn(inner, 'drainOnce').mockImplementation(async () => {
      running += 1;
      most = Math.max(most, running);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (failNext) {
          failNext = false;
          throw new Error('redis went away');
        }
        return await real();
      } finally {
        running -= 1;
      }
    });
    await redis.eval(CHANGE_WITH_RECORD, 2, `${prefix}:state:0`, `${prefix}:audit:outbox`, 'approved',
      JSON.stringify({ actor: 'alice', action: 'request.approved', target: 'request/0', details: {}, at: new Date(Date.UTC(2026, 0, 1)).toISOString() }));
    // The first run fails; its caller drains again at once, landing between that run's end and the queued run's start.
    const first = log.drain().catch(() => log.drain());
    const queued = log.drain();
    await expect(Promise.all([first, queued])).resolves.toEqual([1, 1]);
    expect(most).toBe(1);
    expect(await log.verify()).toMatchObject({ ok: true, count: 1 });
  });

  it('chains a malformed outbox record as audit.malformed_record instead of dropping it or blocking the outbox', async () => {
    await redis.xadd(`${prefix}:audit:outbox`, '*', 'record', '{"actor":"x"');
    await redis.xadd(`${prefix}:audit:outbox`, '*', 'record', JSON.stringify({ actor: 'bob', action: 'a', target: 't', details: {}, at: 'yesterday' }));
    const log = new RedisAuditLog(redis, prefix);
    const good = await log.append({ actor: 'carol', action: 'request.created', target: 'request/1' });
    const entries = await log.list(0, 10);
    expect(entries.map((e) => e.action)).toEqual(['audit.malformed_record', 'audit.malformed_record', 'request.created']);
    expect(entries[0].details).toMatchObject({ problem: 'record is not JSON', raw: '{"actor":"x"' });
    expect(entries[1].details.problem).toMatch(/^at: /);
    expect(good.seq).toBe(3);
    expect(await log.verify()).toMatchObject({ ok: true, count: 3 });
  });

  it('the subscriber only drains a recorded event (no second copy) and appends an unrecorded one', async () => {
    const log = new RedisAuditLog(redis, prefix);
    const handler = auditSubscriber(log, quiet);
    const record = { actor: 'alice', action: 'request.rejected', target: 'request/9', details: { team: 'payments' }, at: new Date().toISOString() };
    await redis.eval(CHANGE_WITH_RECORD, 2, `${prefix}:state`, `${prefix}:audit:outbox`, 'rejected', JSON.stringify(record));
    await handler({ type: 'request.rejected', actor: 'alice', target: 'request/9', details: { team: 'payments' }, recorded: true });
    await handler({ type: 'request.created', actor: 'bob', target: 'request/10', details: { team: 'payments' } });
    expect((await log.list(0, 10)).map((e) => [e.action, e.target])).toEqual([['request.rejected', 'request/9'], ['request.created', 'request/10']]);
  });

  it('an append that fails withdraws its record, so it is never chained after the caller was told it failed', async () => {
    // A stream whose ids run ahead of the head: the batch script's XADD is refused.
    await redis.xadd(`${prefix}:audit`, '1000-1', 'entry', '{}');
    const log = new RedisAuditLog(redis, prefix);
    await expect(log.append({ actor: 'alice', action: 'request.approved', target: 'request/1' })).rejects.toThrow(/equal or smaller/);
    expect(await redis.xlen(`${prefix}:audit:outbox`)).toBe(0);
  });

  it('the periodic drain chains a record whose writer never drained', async () => {
    const log = new RedisAuditLog(redis, prefix);
    const drain = startPeriodicDrain(log, 50, quiet);
    try {
      await redis.xadd(`${prefix}:audit:outbox`, '*', 'record', JSON.stringify({ actor: 'ghost', action: 'request.approved', target: 'request/1', details: {}, at: new Date().toISOString() }));
      for (let i = 0; i < 400 && (await log.list(0, 1)).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      await drain.stop();
    }
    expect((await log.list(0, 10)).map((e) => e.actor)).toEqual(['ghost']);
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
