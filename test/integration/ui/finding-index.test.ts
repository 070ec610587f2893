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

/** Prefix options for a reader of every team. */
const every = (maxTerms: number) => ({ maxTerms, maxHits: 1000, budget: 200, visible: () => true });

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

  it('finds by prefix, case-insensitive, one hit per request with the matches of every term, bounded with "more"', async () => {
    const index = new RedisFindingIndex(redis, prefix);
    const r1 = request('r1', 'payments', 'approved', [['CVE-2021-44228', 'org.apache.logging.log4j:log4j-core', 'critical'], ['CVE-2021-44832', 'org.apache.logging.log4j:log4j-core', 'high'], ['CVE-2020-1', 'zlib', 'low']]);
    const r2 = request('r2', 'logistics', 'awaiting_approval', [['CVE-2021-44228', 'org.apache.logging.log4j:log4j-api', 'critical']]);
    const r3 = request('r3', 'logistics', 'approved', [['CVE-2021-4104', 'log4j:log4j', 'high']]);
    // Many writers at once: every term lands in the term set.
    await Promise.all([r1, r2, r3].flatMap((r) => Array.from({ length: 4 }, () => index.index(r))));

    const log4j = await index.searchPrefix('Log4J', every(20));
    expect(log4j.more).toBe(false);
    expect(log4j.terms).toEqual(['log4j', 'log4j-api', 'log4j-core', 'log4j:log4j']);
    expect(log4j.hits.map((h) => [h.requestId, h.team]).sort()).toEqual([['r1', 'payments'], ['r2', 'logistics'], ['r3', 'logistics']]);
    // r1's two log4j-core findings once each, although both its package terms matched.
    expect(log4j.hits.find((h) => h.requestId === 'r1')!.matches.map((m) => m.id).sort()).toEqual(['CVE-2021-44228', 'CVE-2021-44832']);

    const cve = await index.searchPrefix('CVE-2021-442', every(20));
    expect(cve.terms).toEqual(['cve-2021-44228']);
    expect(cve.hits.map((h) => h.requestId).sort()).toEqual(['r1', 'r2']);
    expect((await index.searchPrefix('cve-2021-4', every(20))).hits.map((h) => h.requestId).sort()).toEqual(['r1', 'r2', 'r3']);
    expect(await index.searchPrefix('cve-2022', every(20))).toEqual({ hits: [], terms: [], more: false });

    const bounded = await index.searchPrefix('cve-20', every(2));
    expect(bounded).toMatchObject({ terms: ['cve-2020-1', 'cve-2021-4104'], more: true });
    expect(bounded.hits.map((h) => h.requestId).sort()).toEqual(['r1', 'r3']);
  });

  it('counts and names only terms with a hit the reader may see; the budget bounds what is read', async () => {
    const index = new RedisFindingIndex(redis, prefix);
    // Team "other" has 30 log4j-ish packages that sort first; payments has one after them.
    await index.index(request('r1', 'other', 'approved', Array.from({ length: 30 }, (_, i) => [`CVE-2030-${i}`, `log4j-a${String(i).padStart(2, '0')}`, 'high'] as [string, string, 'high'])));
    await index.index(request('r2', 'payments', 'approved', [['CVE-2021-44228', 'log4j-core', 'critical']]));
    const payments = (team: string) => team === 'payments';
    const mine = await index.searchPrefix('log4j', { maxTerms: 5, maxHits: 1000, budget: 200, visible: payments });
    expect(mine).toEqual({ hits: [expect.objectContaining({ requestId: 'r2', team: 'payments' })], terms: ['log4j-core'], more: false });
    // The other team's reader sees its own first five and that there are more.
    const theirs = await index.searchPrefix('log4j', { maxTerms: 5, maxHits: 1000, budget: 200, visible: (t) => t === 'other' });
    expect(theirs.terms).toEqual(['log4j-a00', 'log4j-a01', 'log4j-a02', 'log4j-a03', 'log4j-a04']);
    expect(theirs.more).toBe(true);
    expect(theirs.hits.map((h) => h.requestId)).toEqual(['r1']);
    // maxHits: no term is read after the one that reached it.
    expect(await index.searchPrefix('log4j', { maxTerms: 50, maxHits: 1, budget: 200, visible: () => true })).toMatchObject({ terms: ['log4j-a00'], more: true });
    expect(await index.searchPrefix('log4j-c', { maxTerms: 50, maxHits: 1, budget: 200, visible: () => true })).toMatchObject({ terms: ['log4j-core'], more: false });
    // A budget smaller than the other team's terms: nothing of payments is reached, "more" says so.
    expect(await index.searchPrefix('log4j', { maxTerms: 5, maxHits: 1000, budget: 20, visible: payments })).toEqual({ hits: [], terms: [], more: true });
  });

  it('adds terms indexed before the term set existed, once', async () => {
    const index = new RedisFindingIndex(redis, prefix);
    await index.index(request('r1', 'payments', 'approved', [['CVE-2021-44228', 'log4j-core', 'critical']]));
    // As a store indexed by the version before prefix search: no term set, no marker.
    await redis.del(`${prefix}:idx:finding-terms`);
    expect((await index.searchPrefix('log4j', every(20))).hits).toEqual([]);
    await index.backfillTerms();
    expect((await index.searchPrefix('log4j', every(20))).hits.map((h) => h.requestId)).toEqual(['r1']);
    expect(await redis.zrange(`${prefix}:idx:finding-terms`, '0', '-1')).toEqual(['cve-2021-44228', 'ghsa-cve-2021-44228', 'log4j-core']);
    // Once per store: a second run does not scan again.
    await redis.del(`${prefix}:idx:finding-terms`);
    await index.backfillTerms();
    expect(await redis.zcard(`${prefix}:idx:finding-terms`)).toBe(0);
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
