import Redis from 'ioredis';
import { RedisRequestStore, type IntakeRequest } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

function request(id: string, team: string, createdAt: string, status: IntakeRequest['status'] = 'requested'): IntakeRequest {
  return {
    id, image: 'docker.io/library/nginx:1', team, requestedBy: 'alice', justification: 'j', status, createdAt, updatedAt: createdAt,
    source: { registry: 'docker.io', repository: 'library/nginx', tag: '1' }, platforms: [], scans: [], codeScans: [], policy: null, waivers: [],
    decisions: [], internalRef: null, error: null, history: [], version: 0,
  };
}

describe('Redis request store', () => {
  let redis: Redis;
  let prefix: string;
  let store: RedisRequestStore;

  beforeEach(() => {
    // A database of its own: other test files share this Redis, and the prefix check below
    // must see only the keys this store wrote.
    redis = new Redis(services().redis.url, { db: 7 });
    prefix = uniqueName('store');
    store = new RedisRequestStore(redis, prefix);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('creates, reads and updates with a version; every key is under the prefix', async () => {
    await store.create(request('r1', 'payments', '2026-01-01T00:00:00.000Z'));
    const updated = await store.update('r1', (r) => ({ ...r, status: 'resolving' }));
    expect(updated.version).toBe(2);
    expect((await store.get('r1'))?.status).toBe('resolving');
    expect(await store.get('nope')).toBeNull();
    const keys = await redis.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => !k.startsWith(`${prefix}:`))).toEqual([]);
    await expect(store.create(request('r1', 'payments', '2026-01-01T00:00:00.000Z'))).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('does not lose either of two concurrent updates', async () => {
    await store.create(request('r1', 'payments', '2026-01-01T00:00:00.000Z'));
    await Promise.all(['a', 'b', 'c', 'd'].map((by) => store.update('r1', (r) => ({ ...r, decisions: [...r.decisions, { by, decision: 'approve' as const, comment: '', at: 'x' }] }))));
    expect((await store.get('r1'))?.decisions.map((d) => d.by).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('lists by team and status, paginates with a cursor, in both orders', async () => {
    for (let i = 0; i < 5; i++) await store.create(request(`p${i}`, 'payments', `2026-01-01T00:00:0${i}.000Z`));
    await store.create(request('o1', 'other', '2026-01-01T00:00:03.500Z'));
    await store.update('p1', (r) => ({ ...r, status: 'awaiting_approval' }));
    await store.update('p3', (r) => ({ ...r, status: 'awaiting_approval' }));

    const first = await store.list({ teams: ['payments'], limit: 2 });
    expect(first.items.map((r) => r.id)).toEqual(['p4', 'p3']);
    const second = await store.list({ teams: ['payments'], limit: 2, cursor: first.next ?? undefined });
    expect(second.items.map((r) => r.id)).toEqual(['p2', 'p1']);
    const third = await store.list({ teams: ['payments'], limit: 2, cursor: second.next ?? undefined });
    expect(third).toEqual({ items: [expect.objectContaining({ id: 'p0' })], next: null });

    expect((await store.list({ teams: ['payments'], status: 'awaiting_approval', limit: 10, order: 'asc' })).items.map((r) => r.id)).toEqual(['p1', 'p3']);
    expect((await store.list({ teams: ['payments'], status: 'requested', limit: 10 })).items.map((r) => r.id)).toEqual(['p4', 'p2', 'p0']);
    expect((await store.list({ teams: '*', limit: 3 })).items.map((r) => r.id)).toEqual(['p4', 'o1', 'p3']);
    expect((await store.list({ teams: ['other', 'payments'], limit: 3, order: 'asc' })).items.map((r) => r.id)).toEqual(['p0', 'p1', 'p2']);
    await expect(store.list({ teams: '*', limit: 1, cursor: 'garbage' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('claims a key once and releases it only for its holder', async () => {
    expect(await store.claim('payments:sha256:abc', 'r1')).toBeNull();
    expect(await store.claim('payments:sha256:abc', 'r2')).toBe('r1');
    expect(await store.claim('payments:sha256:abc', 'r1')).toBeNull();
    await store.release('payments:sha256:abc', 'r2');
    expect(await store.claim('payments:sha256:abc', 'r2')).toBe('r1');
    await store.release('payments:sha256:abc', 'r1');
    expect(await store.claim('payments:sha256:abc', 'r2')).toBeNull();
  });


  describe('findings out of the record', () => {
    const finding = (i: number) => ({ id: `CVE-2026-${i}`, aliases: [], kind: 'vulnerability' as const, package: `p${i}`, installedVersion: '1', severity: 'high' as const, title: 't', links: [] });
    const report = { scanner: 'builtin', status: 'succeeded' as const, summary: { critical: 0, high: 50, medium: 0, low: 0, unknown: 0 }, findings: Array.from({ length: 50 }, (_, i) => finding(i)), startedAt: 'a', finishedAt: 'b', dbVersion: 'v1' };

    it('keeps summaries on the record, the report once per content; get returns it in full, list only summaries', async () => {
      await store.create({ ...request('r1', 'payments', '2026-01-01T00:00:00.000Z'), scans: [report] });
      await store.create({ ...request('r2', 'payments', '2026-01-01T00:00:01.000Z'), scans: [report] });
      const raw = JSON.parse((await redis.hget(`${prefix}:req:r1`, 'json'))!);
      expect(raw.scans[0].findings).toBeUndefined();
      expect(raw.scans[0]).toMatchObject({ scanner: 'builtin', findingsCount: 50, summary: { high: 50 } });
      expect(await redis.keys(`${prefix}:report:*`)).toHaveLength(1);
      expect((await redis.smembers(`${prefix}:report-refs:${raw.scans[0].reportId}`)).sort()).toEqual(['r1', 'r2']);
      expect(await redis.ttl(`${prefix}:report:${raw.scans[0].reportId}`)).toBe(-1);
      expect((await store.get('r1'))?.scans).toEqual([report]);
      const page = await store.list({ teams: ['payments'], limit: 10 });
      expect(page.items.map((r) => r.scans[0])).toEqual([expect.objectContaining({ findingsCount: 50 }), expect.objectContaining({ findingsCount: 50 })]);
      expect(page.items.every((r) => !('findings' in r.scans[0]))).toBe(true);
      // An update keeps the report and its summary.
      await store.update('r1', (r) => ({ ...r, justification: 'changed' }));
      expect((await store.get('r1'))?.scans[0].findings).toHaveLength(50);
    });

    it('reads records that still hold reports inline, and fails closed when a stored report is missing', async () => {
      await redis.hset(`${prefix}:req:old`, 'v', '1', 'json', JSON.stringify({ ...request('old', 'payments', '2026-01-01T00:00:00.000Z'), scans: [report], version: 1 }));
      await redis.zadd(`${prefix}:idx:team:payments`, 0, `${String(Date.parse('2026-01-01T00:00:00.000Z')).padStart(15, '0')}|old`);
      expect((await store.get('old'))?.scans).toEqual([report]);
      expect((await store.list({ teams: ['payments'], limit: 10 })).items[0].scans[0]).toMatchObject({ findingsCount: 50 });
      await store.create({ ...request('r3', 'payments', '2026-01-02T00:00:00.000Z'), scans: [report] });
      for (const key of await redis.keys(`${prefix}:report:*`)) await redis.del(key);
      expect((await store.get('r3'))?.scans[0]).toMatchObject({ status: 'failed', findings: [], error: { code: 'REPORT_MISSING' } });
    });
  });
});
