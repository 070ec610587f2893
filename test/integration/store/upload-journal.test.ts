/**
 * The upload journal on the real Redis: an owner's sessions are never taken as abandoned while
 * it is alive; each note sets its owner's liveness in the same single command, so a liveness key
 * lost meanwhile (a Redis restarted without persistence) is back with the next note; an owner
 * that comes back while another reads its sessions keeps the ones it notes from then on.
 */
import type Redis from 'ioredis';
import { RedisUploadJournal } from '../../../src/store/redis-upload-journal';
import { redisPerTest } from '../../harness/redis-per-test';

describe('upload journal', () => {
  const t = redisPerTest('journal');
  const at = (n: number) => new URL(`http://reg.test/v2/quarantine/a/blobs/uploads/u${n}`);

  it('each note sets its owner alive in one command, a lost liveness key included; a live owner\'s sessions are not abandoned', async () => {
    const { redis, prefix } = t;
    const journal = new RedisUploadJournal(redis, prefix, { ttlMs: 30_000, owner: 'w1' });
    const other = new RedisUploadJournal(redis, prefix, { ttlMs: 30_000, owner: 'w2' });
    const alive = `${prefix}:uploads-alive:w1`;
    await journal.renew();
    expect(await redis.pttl(alive)).toBeGreaterThan(0);
    // Lost just after a renewal: the next note puts it back.
    await redis.del(alive);
    const sent = jest.spyOn(redis, 'sendCommand');
    try {
      await journal.opened('quarantine/a', at(1));
      expect(sent).toHaveBeenCalledTimes(1);
    } finally {
      sent.mockRestore();
    }
    expect(await redis.pttl(alive)).toBeGreaterThan(0);
    expect(await other.abandoned()).toEqual([]);
    await redis.del(alive);
    await journal.opened('quarantine/a', at(2));
    expect(await redis.pttl(alive)).toBeGreaterThan(0);
    expect(Object.keys(await redis.hgetall(`${prefix}:uploads:w1`)).sort()).toEqual([at(1).pathname, at(2).pathname]);
    expect(await other.abandoned()).toEqual([]);
    // An owner whose liveness is gone: its sessions are abandoned, to others only.
    await redis.del(alive);
    expect((await other.abandoned()).map((s) => s.location.pathname).sort()).toEqual([at(1).pathname, at(2).pathname]);
    expect(await journal.abandoned()).toEqual([]);
  });

  it('an owner that comes back while its sessions are read as abandoned keeps the session it notes then', async () => {
    const { redis, prefix } = t;
    const reviver = redis.duplicate();
    try {
      const journal = new RedisUploadJournal(reviver, prefix, { ttlMs: 30_000, owner: 'w1' });
      const other = new RedisUploadJournal(redis, prefix, { ttlMs: 30_000, owner: 'w2' });
      await journal.opened('quarantine/a', at(1));
      await redis.del(`${prefix}:uploads-alive:w1`);
      // Every answer abandoned() gets but SCAN's reaches it only after w1 has come back with a
      // new session, on its own connection: the gap between a liveness check and a read.
      type Sent = { name: string; resolve: (v: unknown) => void };
      const send = redis.sendCommand.bind(redis);
      const sent = jest.spyOn(redis, 'sendCommand').mockImplementation(((cmd: Sent, ...rest: unknown[]) => {
        if (cmd.name !== 'scan') {
          const answer = cmd.resolve;
          cmd.resolve = (v: unknown) => { void journal.opened('quarantine/a', at(3)).then(() => answer(v), () => answer(v)); };
        }
        return (send as (c: unknown, ...r: unknown[]) => unknown)(cmd, ...rest);
      }) as unknown as Redis['sendCommand']);
      let found: string[];
      try {
        found = (await other.abandoned()).map((s) => s.location.pathname);
      } finally {
        sent.mockRestore();
      }
      expect(await reviver.hexists(`${prefix}:uploads:w1`, at(3).pathname)).toBe(1);
      expect(found).toEqual([at(1).pathname]);
    } finally {
      reviver.disconnect();
    }
  });
});
