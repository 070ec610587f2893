/**
 * The approved tag index on real Redis: a tag moves forward only. Re-saving an older
 * approval (as the pipeline's dedup path and promotion do) must not re-point a tag a newer
 * approval owns, and revoking the older digest must not delete the newer digest's tag entry.
 */
import Redis from 'ioredis';
import { RedisApprovalStore, type Approval } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

const image = 'docker.io/library/nginx';
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

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
    await store.addTag('payments', image, '1.25', D1);
    await store.put(approval(D2, ['1.25']));
    await store.addTag('payments', image, '1.25', D2);
    // A later request resolving to D1 finds D1 approved and saves it again, tags and all.
    await store.put({ ...(await store.get('payments', D1))!, approvedBy: ['bob', 'carol'] });
    expect(await store.digestForTag('payments', image, '1.25')).toBe(D2);

    await store.remove('payments', D1);
    expect(await store.get('payments', D1)).toBeNull();
    expect(await store.digestForTag('payments', image, '1.25')).toBe(D2);
    expect((await store.get('payments', D2))?.tags).toEqual(['1.25']);
  });

  it('adds a tag to an approval and removes the entries it still owns on revocation', async () => {
    await store.put(approval(D1, []));
    await store.addTag('payments', image, 'stable', D1);
    await store.addTag('payments', image, '1.25', D1);
    expect((await store.get('payments', D1))?.tags).toEqual(['1.25', 'stable']);
    await store.addTag('payments', image, 'stable', D2);
    await store.remove('payments', D1);
    expect(await store.digestForTag('payments', image, '1.25')).toBeNull();
    expect(await store.digestForTag('payments', image, 'stable')).toBe(D2);
    expect((await redis.keys(`${prefix}:*`)).sort()).toEqual([`${prefix}:approval-tags:payments:${D2}`, `${prefix}:approved-tag:payments:${image}:stable`]);
  });
  it('maps an upstream digest to the re-encoded digest approved for it, per team, until that approval is removed', async () => {
    const U = `sha256:${'f'.repeat(64)}`;
    await store.put({ ...approval(D1, []), sourceDigest: U });
    expect(await store.digestForSource('payments', U)).toBe(D1);
    expect(await store.digestForSource('logistics', U)).toBeNull();
    expect((await store.get('payments', D1))?.sourceDigest).toBe(U);
    // The same upstream digest re-encoded again (another engine): the newer approval owns the entry.
    await store.put({ ...approval(D2, []), sourceDigest: U });
    expect(await store.digestForSource('payments', U)).toBe(D2);
    await store.remove('payments', D1);
    expect(await store.digestForSource('payments', U)).toBe(D2);
    await store.remove('payments', D2);
    expect(await store.digestForSource('payments', U)).toBeNull();
  });

  it('writes no source entry when the digests are equal', async () => {
    await store.put({ ...approval(D1, []), sourceDigest: D1 });
    expect(await store.digestForSource('payments', D1)).toBeNull();
  });
});
