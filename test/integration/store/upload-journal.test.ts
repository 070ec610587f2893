/**
 * The upload journal on the real Redis: an owner's sessions are never taken as abandoned while
 * it is alive, its first note sets its liveness, and notes made soon after a renewal cost one
 * command (no liveness write beside each), one made later sets the liveness again.
 */
import { RedisUploadJournal } from '../../../src/store/redis-upload-journal';
import { redisPerTest } from '../../harness/redis-per-test';

describe('upload journal', () => {
  const t = redisPerTest('journal');

  it('a note sets its owner alive unless it was renewed less than a third of the TTL ago; a live owner\'s sessions are not abandoned', async () => {
    const { redis, prefix } = t;
    let now = 1_000_000;
    const journal = new RedisUploadJournal(redis, prefix, { ttlMs: 30_000, owner: 'w1', now: () => now });
    const other = new RedisUploadJournal(redis, prefix, { ttlMs: 30_000, owner: 'w2' });
    const alive = `${prefix}:uploads-alive:w1`;
    // Never renewed: the first note sets the liveness itself.
    await journal.opened('quarantine/a', new URL('http://reg.test/v2/quarantine/a/blobs/uploads/u1'));
    expect(await redis.pttl(alive)).toBeGreaterThan(0);
    expect(await other.abandoned()).toEqual([]);
    // Soon after: the note alone (the liveness key, removed here, is not written again).
    await redis.del(alive);
    now += 9_000;
    await journal.opened('quarantine/a', new URL('http://reg.test/v2/quarantine/a/blobs/uploads/u2'));
    expect(await redis.exists(alive)).toBe(0);
    expect(Object.keys(await redis.hgetall(`${prefix}:uploads:w1`)).sort()).toEqual(['/v2/quarantine/a/blobs/uploads/u1', '/v2/quarantine/a/blobs/uploads/u2']);
    // A third of the TTL after the last write of the key: the note sets it again.
    now += 1_001;
    await journal.opened('quarantine/a', new URL('http://reg.test/v2/quarantine/a/blobs/uploads/u3'));
    expect(await redis.pttl(alive)).toBeGreaterThan(0);
    expect(await other.abandoned()).toEqual([]);
    // A renewal counts as a write of the key too.
    await redis.del(alive);
    now += 20_000;
    await journal.renew();
    await redis.del(alive);
    await journal.opened('quarantine/a', new URL('http://reg.test/v2/quarantine/a/blobs/uploads/u4'));
    expect(await redis.exists(alive)).toBe(0);
    // An owner whose liveness is gone: its sessions are abandoned, to others only.
    expect((await other.abandoned()).map((s) => s.location.pathname).sort()).toHaveLength(4);
    expect(await journal.abandoned()).toEqual([]);
  });
});
