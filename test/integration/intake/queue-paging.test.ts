/**
 * `GET /v1/queue` paging on real Redis: the caller's own requests are filtered out after
 * each read, and the cursor must resume right after the last item returned, so that paging
 * through the queue yields every decidable request once, in order, none skipped.
 */
import Redis from 'ioredis';
import { EventBus, Lifecycle, RequestService } from '../../../src/intake';
import type { Principal } from '../../../src/lib/identity/types';
import { RedisApprovalStore, RedisRevocationStore, RedisRequestStore, type IntakeRequest } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

const approver: Principal = { name: 'ann', roles: ['developer', 'approver'], teams: ['payments'] };

describe('approval queue paging', () => {
  let redis: Redis;
  let prefix: string;
  let service: RequestService;
  let store: RedisRequestStore;

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('queue');
    store = new RedisRequestStore(redis, prefix);
    service = new RequestService({ requests: store, approvals: new RedisApprovalStore(redis, prefix), revocations: new RedisRevocationStore(redis, prefix), upstreams: ['docker.io'], scheduler: { schedule: async () => undefined }, lifecycle: new Lifecycle(store, new EventBus()), events: new EventBus() });
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('returns every request the caller may decide exactly once across pages', async () => {
    // Own requests interleaved with others', oldest first: a, own, b, c, own, d, e, own, f.
    const who = ['x', 'ann', 'x', 'y', 'ann', 'x', 'y', 'ann', 'x'];
    const ids: string[] = [];
    for (const [i, by] of who.entries()) {
      const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
      const r: IntakeRequest = {
        id: `r${i}`, image: `docker.io/library/app${i}:1`, team: 'payments', requestedBy: by, justification: 'j', status: 'awaiting_approval',
        createdAt: at, updatedAt: at, source: { registry: 'docker.io', repository: `library/app${i}`, tag: '1' }, platforms: [], scans: [], codeScans: [],
        policy: null, waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
      };
      await store.create(r);
      if (by !== 'ann') ids.push(r.id);
    }
    for (const limit of [1, 2, 3, 4, 6, 7]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await service.queue(approver, { limit, cursor });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((r) => r.id));
        if (!page.next) break;
        cursor = page.next;
      }
      expect({ limit, seen }).toEqual({ limit, seen: ids });
    }
  });
});
