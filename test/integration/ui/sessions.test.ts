/**
 * The console's web sessions on the real Redis: the id is only in the cookie (Redis keys hold
 * its SHA-256), idle timeout and absolute lifetime with a clock the test moves, the CSRF token,
 * update, sign-out and sign-out everywhere, and many sessions of one subject created at once.
 */
import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import { csrfMatches, endSessionsOnDisable, principalOfSession, RedisSessionStore, sessionDataOf, subjectOfTarget, type SessionData } from '../../../src/ui/sessions';
import { services, uniqueName } from '../../harness/services';

const alice: SessionData = { subject: 'tokens-file:alice', source: 'tokens-file', name: 'alice', roles: ['approver'], teams: ['payments'] };
const MIN = 60_000;

describe('RedisSessionStore', () => {
  let redis: Redis;
  let prefix: string;
  let now: number;
  let store: RedisSessionStore;

  beforeAll(() => { redis = new Redis(services().redis.url); });
  afterAll(async () => { await redis.quit(); });
  beforeEach(() => {
    prefix = uniqueName('ui');
    now = 1_800_000_000_000;
    store = new RedisSessionStore(redis, prefix, { idleMs: 30 * MIN, lifetimeMs: 120 * MIN }, () => now);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });

  it('stores the record under the hash of the id, never the id itself', async () => {
    const { id, session } = await store.create(alice);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const keys = await redis.keys(`${prefix}:*`);
    expect(keys).toContain(`${prefix}:ui:session:${createHash('sha256').update(id).digest('hex')}`);
    for (const k of keys) {
      expect(k).not.toContain(id);
      expect(JSON.stringify(await redis.hgetall(k).catch(() => ({})))).not.toContain(id);
    }
    expect(session.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(session.csrf).not.toBe(id);
    const got = await store.get(id);
    expect(got).toMatchObject({ ...alice, csrf: session.csrf, createdAt: now });
    expect(principalOfSession(got!)).toEqual({ name: 'alice', roles: ['approver'], teams: ['payments'], subject: 'tokens-file:alice', source: 'tokens-file' });
  });

  it('ends a session left idle, and restarts the idle clock on each read', async () => {
    const { id } = await store.create(alice);
    now += 29 * MIN;
    expect(await store.get(id)).not.toBeNull();
    now += 29 * MIN; // 58 minutes after sign-in, 29 after the last read
    expect((await store.get(id))?.lastSeenAt).toBe(now);
    now += 30 * MIN;
    expect(await store.get(id)).toBeNull();
    expect(await redis.keys(`${prefix}:ui:session:*`)).toEqual([]);
  });

  it('ends a session at its absolute lifetime however busy it is', async () => {
    const { id } = await store.create(alice);
    for (let i = 0; i < 7; i++) { now += 17 * MIN; expect(await store.get(id)).not.toBeNull(); } // 119 minutes
    const ttl = await redis.pttl(`${prefix}:ui:session:${createHash('sha256').update(id).digest('hex')}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1 * MIN); // the key's TTL never outlives the lifetime either
    now += 1 * MIN;
    expect(await store.get(id)).toBeNull();
  });

  it('answers null for unknown, malformed and destroyed ids', async () => {
    expect(await store.get('x')).toBeNull();
    expect(await store.get('A'.repeat(43))).toBeNull();
    const { id } = await store.create(alice);
    await store.destroy(id);
    expect(await store.get(id)).toBeNull();
  });

  it('checks CSRF tokens exactly', async () => {
    const { session } = await store.create(alice);
    expect(csrfMatches(session, session.csrf)).toBe(true);
    expect(csrfMatches(session, `${session.csrf.slice(0, -1)}${session.csrf.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
    expect(csrfMatches(session, '')).toBe(false);
    expect(csrfMatches(session, undefined)).toBe(false);
    expect(csrfMatches(session, [session.csrf])).toBe(false);
  });

  it('updates the data of a live session of the same subject only', async () => {
    const { id, session } = await store.create({ ...alice, oidc: { refreshToken: 'r1', expiresAt: 5 } });
    expect(await store.update(id, { ...alice, teams: ['payments', 'logistics'], oidc: { refreshToken: 'r2', expiresAt: 9 } })).toBe(true);
    expect(await store.get(id)).toMatchObject({ teams: ['payments', 'logistics'], oidc: { refreshToken: 'r2', expiresAt: 9 }, csrf: session.csrf });
    expect(await store.update(id, { ...alice, subject: 'tokens-file:mallory' })).toBe(false);
    expect((await store.get(id))?.subject).toBe('tokens-file:alice');
    await store.destroy(id);
    expect(await store.update(id, alice)).toBe(false);
  });

  it('signs a subject out everywhere, including sessions created concurrently, and nobody else', async () => {
    const created = await Promise.all(Array.from({ length: 40 }, () => store.create(alice)));
    const bob = await store.create({ ...alice, subject: 'tokens-file:bob', name: 'bob' });
    expect(new Set(created.map((c) => c.id)).size).toBe(40);
    expect(await store.destroyAllFor('tokens-file:alice')).toBe(40);
    for (const c of created) expect(await store.get(c.id)).toBeNull();
    expect(await store.get(bob.id)).not.toBeNull();
    expect(await store.destroyAllFor('tokens-file:alice')).toBe(0);
  });

  it('builds session data from a principal without any credential', () => {
    expect(sessionDataOf({ name: 'ci-bot', roles: ['ci'], teams: ['payments'] })).toEqual({ subject: 'tokens-file:ci-bot', source: 'tokens-file', name: 'ci-bot', roles: ['ci'], teams: ['payments'] });
    expect(() => sessionDataOf({ name: '', roles: [], teams: [] })).toThrow();
  });
});

describe('console sessions end when their principal is disabled', () => {
  let redis: Redis;
  let store: RedisSessionStore;
  beforeAll(() => {
    redis = new Redis(services().redis.url);
    store = new RedisSessionStore(redis, uniqueName('ui'), { idleMs: 30 * MIN, lifetimeMs: 120 * MIN });
  });
  afterAll(async () => { await redis.quit(); });

  it('maps event targets to subjects', () => {
    expect(subjectOfTarget('robot/r-123')).toBe('robot:r-123');
    expect(subjectOfTarget('principal/oidc:https://idp#42')).toBe('oidc:https://idp#42');
    expect(subjectOfTarget('request/abc')).toBeNull();
  });

  it.each([
    ['robot.disabled', 'robot/r-1', 'robot:r-1'],
    ['robot.deleted', 'robot/r-2', 'robot:r-2'],
    ['robot.expired', 'robot/r-3', 'robot:r-3'],
    ['principal.disabled_inactive', 'principal/tokens-file:bob', 'tokens-file:bob'],
  ])('%s ends every session of %s and no one else\'s', async (type, target, subject) => {
    const other = await store.create({ ...alice, subject: 'tokens-file:carol', name: 'carol' });
    const mine = await Promise.all([1, 2, 3].map(() => store.create({ ...alice, subject, name: subject })));
    await endSessionsOnDisable(store)({ type, target });
    for (const s of mine) expect(await store.get(s.id)).toBeNull();
    expect(await store.get(other.id)).not.toBeNull();
  });

  it('leaves sessions alone for events that do not take access away', async () => {
    const s = await store.create({ ...alice, subject: 'robot:r-9' });
    for (const type of ['robot.rotated', 'robot.enabled', 'robot.expiring', 'principal.enabled']) {
      await endSessionsOnDisable(store)({ type, target: 'robot/r-9' });
    }
    expect(await store.get(s.id)).not.toBeNull();
  });
});
