/**
 * The approved tag index on real Redis: a tag moves forward only. Re-saving an older
 * approval (as the pipeline's dedup path and promotion do) must not re-point a tag a newer
 * approval owns, and revoking the older digest must not delete the newer digest's tag entry.
 */
import Redis from 'ioredis';
import { findApproval } from '../../../src/intake/ledger';
import { RedisApprovalStore, type Approval, type ApprovalScope } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

const image = 'docker.io/library/nginx';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const scope = { team: 'payments', image, platforms: [] };

function approval(digest: string, tags: string[]): Approval {
  return {
    team: 'payments', digest, image, tags, internalRef: `h/approved/payments/${image}@${digest}`, internalRepository: `approved/payments/${image}`,
    internalTag: '1.25', approvedAt: '2026-01-01T00:00:00.000Z', approvedBy: ['bob'], requestId: `req-${digest.slice(-4)}`,
  };
}

describe('Redis approval store: tag index', () => {
  let redis: Redis;
  let prefix: string;
  let store: RedisApprovalStore;

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('approvals');
    store = new RedisApprovalStore(redis, prefix);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('never moves a tag back when an older approval is saved again, and revoking the older one keeps the newer tag', async () => {
    await store.put(approval(D1, ['1.25']));
    await store.addTag(scope, '1.25', D1);
    await store.put(approval(D2, ['1.25']));
    await store.addTag(scope, '1.25', D2);
    // A later request resolving to D1 finds D1 approved and saves it again, tags and all.
    await store.put({ ...(await store.get('payments', image, D1))!, approvedBy: ['bob', 'carol'] });
    expect(await store.digestForTag(scope, '1.25')).toBe(D2);

    await store.remove('payments', image, D1);
    expect(await store.get('payments', image, D1)).toBeNull();
    expect(await store.digestForTag(scope, '1.25')).toBe(D2);
    expect((await store.get('payments', image, D2))?.tags).toEqual(['1.25']);
  });

  it('adds a tag to an approval and removes the entries it still owns on revocation', async () => {
    await store.put(approval(D1, []));
    await store.addTag(scope, 'stable', D1);
    await store.addTag(scope, '1.25', D1);
    expect((await store.get('payments', image, D1))?.tags).toEqual(['1.25', 'stable']);
    await store.addTag(scope, 'stable', D2);
    await store.remove('payments', image, D1);
    expect(await store.digestForTag(scope, '1.25')).toBeNull();
    expect(await store.digestForTag(scope, 'stable')).toBe(D2);
    // Besides the ledger's version (moved by every write, never removed: store/ledger-version.ts).
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual([`${prefix}:approval-tags:payments|${image}|${D2}`, `${prefix}:approved-tag:payments|${image}|*|stable`, `${prefix}:ledger:version`]);
  });
  it('maps an upstream digest to the re-encoded digest approved for it, per team, until that approval is removed', async () => {
    const U = `sha256:${'f'.repeat(64)}`;
    await store.put({ ...approval(D1, []), sourceDigest: U });
    expect(await store.digestForSource(scope, U)).toBe(D1);
    expect(await store.digestForSource({ ...scope, team: 'logistics' }, U)).toBeNull();
    expect((await store.get('payments', image, D1))?.sourceDigest).toBe(U);
    // The same upstream digest re-encoded again (another engine): the newer approval owns the entry.
    await store.put({ ...approval(D2, []), sourceDigest: U });
    expect(await store.digestForSource(scope, U)).toBe(D2);
    await store.remove('payments', image, D1);
    expect(await store.digestForSource(scope, U)).toBe(D2);
    await store.remove('payments', image, D2);
    expect(await store.digestForSource(scope, U)).toBeNull();
  });

  it('writes no source entry when the digests are equal', async () => {
    await store.put({ ...approval(D1, []), sourceDigest: D1 });
    expect(await store.digestForSource(scope, D1)).toBeNull();
  });

  it('keeps one approval per (team, image, digest): two names of one digest have their own tags, removing one leaves the other', async () => {
    const other = 'docker.io/acme/tool';
    await store.put(approval(D1, []));
    await store.addTag(scope, '1.0', D1);
    await store.put({ ...approval(D1, []), image: other, internalRepository: `approved/payments/${other}`, requestId: 'req-other' });
    await store.addTag({ ...scope, image: other }, '2.0', D1);
    expect((await store.get('payments', image, D1))?.tags).toEqual(['1.0']);
    expect((await store.get('payments', other, D1))?.tags).toEqual(['2.0']);
    expect((await store.ofDigest('payments', D1)).map((a) => a.image)).toEqual([other, image]);
    await store.remove('payments', other, D1);
    expect(await store.get('payments', other, D1)).toBeNull();
    expect(await store.digestForTag({ ...scope, image: other }, '2.0')).toBeNull();
    expect(await store.digestForTag(scope, '1.0')).toBe(D1);
    expect((await store.ofDigest('payments', D1)).map((a) => a.requestId)).toEqual([approval(D1, []).requestId]);
  });

  it('indexes tags per platform set: a whole-image lookup never answers a platform child, nor the reverse', async () => {
    await store.put({ ...approval(D2, []), platforms: ['linux/arm64'] });
    await store.addTag({ ...scope, platforms: ['linux/arm64'] }, '1.25', D2);
    expect(await store.digestForTag(scope, '1.25')).toBeNull();
    expect(await store.digestForTag({ ...scope, platforms: ['linux/arm64'] }, '1.25')).toBe(D2);
    await store.put(approval(D1, []));
    await store.addTag(scope, '1.25', D1);
    expect(await store.digestForTag(scope, '1.25')).toBe(D1);
    expect(await store.digestForTag({ ...scope, platforms: ['linux/arm64'] }, '1.25')).toBe(D2);
    // The set is sorted: the order a caller names platforms in does not matter.
    await store.addTag({ ...scope, platforms: ['linux/arm64', 'linux/amd64'] }, '1.25', D1);
    expect(await store.digestForTag({ ...scope, platforms: ['linux/amd64', 'linux/arm64'] }, '1.25')).toBe(D1);
  });

  it('lists a team\'s completed approvals newest first, page by page; pending ones and removed ones are not listed', async () => {
    for (let i = 0; i < 5; i++) {
      const d = `sha256:${String(i).repeat(64)}`;
      await store.put({ ...approval(d, []), approvedAt: `2026-01-0${i + 1}T00:00:00.000Z` });
    }
    await store.put({ ...approval(`sha256:${'9'.repeat(64)}`, []), pending: true });
    const first = await store.list('payments', { limit: 2 });
    expect(first.items.map((a) => a.approvedAt.slice(0, 10))).toEqual(['2026-01-05', '2026-01-04']);
    const second = await store.list('payments', { limit: 2, cursor: first.next ?? undefined });
    expect(second.items.map((a) => a.approvedAt.slice(0, 10))).toEqual(['2026-01-03', '2026-01-02']);
    // Re-saving an approval with a new time moves it, never lists it twice.
    await store.put({ ...approval(`sha256:${'0'.repeat(64)}`, []), approvedAt: '2026-02-01T00:00:00.000Z' });
    await store.remove('payments', image, `sha256:${'4'.repeat(64)}`);
    const all = await store.list('payments', { limit: 10 });
    expect(all.items.map((a) => a.approvedAt.slice(0, 10))).toEqual(['2026-02-01', '2026-01-04', '2026-01-03', '2026-01-02']);
    expect(all.next).toBeNull();
    await expect(store.list('payments', { limit: 2, cursor: 'bm9wZQ' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('answers CI\'s lookup in one script exactly as the tag index and findApproval do: by tag, digest or upstream digest, per name and platform set, never pending', async () => {
    const U = `sha256:${'e'.repeat(64)}`;
    const D3 = `sha256:${'3'.repeat(64)}`;
    const arm = { ...scope, platforms: ['linux/arm64'] };
    await store.put({ ...approval(D1, []), sourceDigest: U });
    await store.addTag(scope, '1.0', D1);
    await store.put({ ...approval(D2, []), platforms: ['linux/arm64'] });
    await store.addTag(arm, '1.0', D2);
    await store.put({ ...approval(D3, []), pending: true });
    await store.addTag(scope, 'next', D3);
    const other = { ...scope, image: 'docker.io/acme/tool' };
    const cases: Array<[ApprovalScope, { tag: string } | { digest: string }]> = [
      [scope, { tag: '1.0' }], [arm, { tag: '1.0' }], [scope, { digest: D1 }], [scope, { digest: U }], [arm, { digest: D2 }],
      [scope, { digest: D2 }], [arm, { digest: D1 }], [scope, { tag: 'next' }], [scope, { digest: D3 }], [other, { tag: '1.0' }],
      [other, { digest: D1 }], [{ ...scope, team: 'logistics' }, { digest: U }], [scope, { tag: 'missing' }],
    ];
    const answers = [];
    for (const [s, ref] of cases) {
      const digest = 'digest' in ref ? ref.digest : await store.digestForTag(s, ref.tag);
      const expected = digest ? await findApproval(store, s, digest) : null;
      const got = await store.lookup(s, ref);
      expect(got).toEqual(expected);
      answers.push(got?.digest ?? null);
    }
    expect(answers).toEqual([D1, D2, D1, D1, D2, null, null, null, null, null, null, null, null]);
    // Gone from the ledger: gone from the lookup.
    await store.remove('payments', image, D1);
    expect(await store.lookup(scope, { tag: '1.0' })).toBeNull();
    expect(await store.lookup(scope, { digest: U })).toBeNull();
  });
});
