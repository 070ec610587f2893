/**
 * The drift history on the real Redis: many drift runs (workers) recording the same move at
 * once keep one entry; a tag that moves again, or moves back and then away, is a new entry;
 * the request filed for a move is linked once; entries older than the retention, and beyond the
 * cap per team, are trimmed; readers see their teams only (another team: 404).
 */
import Redis from 'ioredis';
import { DriftHistoryService, RedisDriftHistory, type DriftSeen } from '../../../src/monitor/drift-history';
import type { Principal } from '../../../src/lib/identity/types';
import { services, uniqueName } from '../../harness/services';

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const DAY = 86_400_000;

function seen(team: string, tag: string, to: number, at: number, extra: Partial<DriftSeen> = {}): DriftSeen {
  return {
    team, image: 'docker.io/library/nginx', tag, platforms: ['linux/amd64'], fromDigest: digest(1), toDigest: digest(to), digest: digest(100),
    approvedRequestId: 'req-approved', at: new Date(at).toISOString(), ...extra,
  };
}

describe('RedisDriftHistory', () => {
  let redis: Redis;
  let prefix: string;
  let store: RedisDriftHistory;
  const t0 = Date.UTC(2026, 5, 1);

  beforeAll(() => { redis = new Redis(services().redis.url); });
  afterAll(async () => { await redis.quit(); });
  beforeEach(() => {
    prefix = uniqueName('drift');
    store = new RedisDriftHistory(redis, prefix, 30);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });

  it('keeps one entry when many writers record the same move at once, and links its request once', async () => {
    // Each writer has its own connection, as separate workers would.
    const conns = Array.from({ length: 12 }, () => new Redis(services().redis.url));
    try {
      const results = await Promise.all(conns.map((c, i) => new RedisDriftHistory(c, prefix, 30).record(seen('payments', '1.25', 2, t0 + i))));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const winner = results.find((r) => r.created)!.id;
      // The others learn the entry's id (a retry that files the request links it there).
      expect(new Set(results.map((r) => r.id))).toEqual(new Set([winner]));
      await Promise.all(conns.map((c, i) => new RedisDriftHistory(c, prefix, 30).link('payments', winner, `req-${i}`)));
    } finally {
      await Promise.all(conns.map((c) => c.quit()));
    }
    const rows = await store.recent(['payments'], 50);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ team: 'payments', tag: '1.25', fromDigest: digest(1), toDigest: digest(2), requestId: expect.stringMatching(/^req-\d+$/) });
    // Seen again by the next run: still one entry.
    expect((await store.record(seen('payments', '1.25', 2, t0 + DAY))).created).toBe(false);
    expect(await store.recent(['payments'], 50)).toHaveLength(1);
  });

  it('records a new entry when the tag moves again, or moves back and then away again', async () => {
    expect((await store.record(seen('payments', '1.25', 2, t0))).created).toBe(true);
    expect((await store.record(seen('payments', '1.25', 3, t0 + 1000))).created).toBe(true);
    await store.settled({ team: 'payments', image: 'docker.io/library/nginx', platforms: ['linux/amd64'], tag: '1.25' });
    expect((await store.record(seen('payments', '1.25', 3, t0 + 2000))).created).toBe(true);
    // Another tag, another platform set: entries of their own.
    expect((await store.record(seen('payments', '1.26', 3, t0 + 3000))).created).toBe(true);
    expect((await store.record(seen('payments', '1.25', 3, t0 + 4000, { platforms: [] }))).created).toBe(true);
    const rows = await store.recent(['payments'], 50);
    expect(rows.map((r) => [r.tag, r.toDigest.slice(-1), r.at])).toEqual([
      ['1.25', '3', new Date(t0 + 4000).toISOString()], ['1.26', '3', new Date(t0 + 3000).toISOString()],
      ['1.25', '3', new Date(t0 + 2000).toISOString()], ['1.25', '3', new Date(t0 + 1000).toISOString()], ['1.25', '2', new Date(t0).toISOString()],
    ]);
    expect(await store.recent(['payments'], 2)).toHaveLength(2);
  });

  it('trims entries past the retention and beyond the cap per team', async () => {
    await store.record(seen('payments', 'old', 2, t0));
    await store.record(seen('payments', 'recent', 2, t0 + 20 * DAY));
    await store.record(seen('payments', 'new', 2, t0 + 31 * DAY));
    expect((await store.recent(['payments'], 50)).map((r) => r.tag)).toEqual(['new', 'recent']);
    expect(await redis.hlen(`${prefix}:drift-history:payments`)).toBe(2);

    const capped = new RedisDriftHistory(redis, prefix, 30, 5);
    await Promise.all(Array.from({ length: 20 }, (_, i) => capped.record(seen('logistics', `t${i}`, 2, t0 + i * 1000))));
    const kept = await capped.recent(['logistics'], 50);
    expect(kept.map((r) => r.tag)).toEqual(['t19', 't18', 't17', 't16', 't15']);
    expect(await redis.hlen(`${prefix}:drift-history:logistics`)).toBe(5);
    expect(await redis.zcard(`${prefix}:drift-history-at:logistics`)).toBe(5);
  });

  it('shows each reader its teams only; another team answers 404', async () => {
    await store.record(seen('payments', '1.0', 2, t0));
    await store.record(seen('logistics', '2.0', 2, t0 + 1000));
    const history = new DriftHistoryService(store);
    const who = (roles: Principal['roles'], teams: string[]): Principal => ({ name: 'p', roles, teams, subject: 'test:p' });
    expect((await history.read(who(['developer'], ['payments']), { limit: 50 })).map((e) => e.team)).toEqual(['payments']);
    await expect(history.read(who(['developer'], ['payments']), { team: 'logistics', limit: 50 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await history.read(who(['auditor'], []), { limit: 50 })).map((e) => e.team)).toEqual(['logistics', 'payments']);
    expect((await history.read(who(['admin'], ['*']), { team: 'payments', limit: 50 })).map((e) => e.team)).toEqual(['payments']);
    await expect(history.read(who(['ci'], ['payments']), { limit: 50 })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
