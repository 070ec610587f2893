/**
 * The console's finding index and request counts on the real Redis: terms (id, alias, package
 * and its last segment, case-insensitive), one request indexed once even when many writers race,
 * the per-request fold, the backfill of requests scanned before the index, and counts per status.
 */
import Redis from 'ioredis';
import { RedisFindingIndex, RedisRequestStats, RedisRequestStore, type IntakeRequest } from '../../../src/store';
import { backfillFindingIndex } from '../../../src/ui/data/indexer';
import { services, uniqueName } from '../../harness/services';

function request(id: string, team: string, status: IntakeRequest['status'], findings: Array<[string, string, 'critical' | 'high' | 'low']>): IntakeRequest {
  const at = new Date(Date.UTC(2026, 0, 1) + Number(id.replace(/\D/g, '')) * 1000).toISOString();
  return {
    id, image: `docker.io/library/${id}:1`, team, requestedBy: 'dev', justification: 'x', status, createdAt: at, updatedAt: at,
    source: { registry: 'docker.io', repository: `library/${id}`, tag: '1', digest: `sha256:${'a'.repeat(63)}${id.slice(-1)}` }, platforms: [],
    scans: [{ scanner: 'builtin', status: 'succeeded', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, startedAt: at, finishedAt: at,
      findings: findings.map(([fid, pkg, severity]) => ({ id: fid, aliases: [`GHSA-${fid}`], kind: 'vulnerability' as const, package: pkg, severity, title: '', links: [] })) }],
    codeScans: [], policy: null, waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
  };
}

describe('RedisFindingIndex and RedisRequestStats', () => {
  let redis: Redis;
  let prefix: string;
  beforeAll(() => { redis = new Redis(services().redis.url); });
  afterAll(async () => { await redis.quit(); });
  beforeEach(() => { prefix = uniqueName('fi'); });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  });

  it('finds a request by id, alias and package (and its last segment), whatever the case', async () => {
    const index = new RedisFindingIndex(redis, prefix);
    const r = request('r1', 'payments', 'approved', [['CVE-2021-44228', 'org.apache.logging.log4j:log4j-core', 'critical'], ['CVE-2020-1', 'zlib', 'low']]);
    expect(await index.index(r)).toBe(true);
    for (const term of ['cve-2021-44228', 'GHSA-CVE-2021-44228', 'log4j-core', 'ORG.apache.logging.log4j:log4j-core']) {
      const hits = await index.search(term);
      expect(hits).toEqual([{ requestId: 'r1', team: 'payments', image: 'docker.io/library/r1', digest: r.source.digest, matches: [expect.objectContaining({ id: 'CVE-2021-44228', severity: 'critical' })] }]);
    }
    expect(await index.search('log4j')).toEqual([]);
    expect(await index.digests(['r1', 'nope'])).toEqual([
      expect.objectContaining({ requestId: 'r1', team: 'payments', vulns: expect.objectContaining({ critical: ['CVE-2021-44228'], low: ['CVE-2020-1'] }), instances: expect.objectContaining({ critical: 1, low: 1, high: 0 }) }),
      null,
    ]);
  });

  it('indexes a request once when many writers race, and the backfill adds only what is missing', async () => {
    const index = new RedisFindingIndex(redis, prefix);
    const store = new RedisRequestStore(redis, prefix);
    const rs = [request('r1', 'a', 'approved', [['CVE-1', 'p', 'high']]), request('r2', 'b', 'awaiting_approval', [['CVE-1', 'q', 'low']]), request('r3', 'b', 'requested', [])];
    for (const r of rs) await store.create(r);
    const raced = await Promise.all(Array.from({ length: 10 }, () => index.index(rs[0])));
    expect(raced.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(await index.search('CVE-1')).toHaveLength(1);
    expect(await backfillFindingIndex(store, index)).toBe(1); // r2; r3 is not scanned yet
    expect((await index.search('cve-1')).map((h) => h.requestId).sort()).toEqual(['r1', 'r2']);
    expect(await backfillFindingIndex(store, index)).toBe(0);
  });

  it('counts requests per status over some teams or all, and lists the teams', async () => {
    const store = new RedisRequestStore(redis, prefix);
    for (const [i, [team, status]] of ([['a', 'approved'], ['a', 'awaiting_approval'], ['b', 'awaiting_approval'], ['c', 'rejected']] as const).entries()) {
      await store.create(request(`r${i}`, team, status, []));
    }
    const stats = new RedisRequestStats(redis, prefix);
    expect(await stats.countByStatus('*')).toMatchObject({ approved: 1, awaiting_approval: 2, rejected: 1, failed: 0 });
    expect(await stats.countByStatus(['a', 'c'])).toMatchObject({ approved: 1, awaiting_approval: 1, rejected: 1 });
    expect(await stats.countByStatus([])).toMatchObject({ approved: 0, awaiting_approval: 0 });
    expect(await stats.teams()).toEqual(['a', 'b', 'c']);
  });
});
