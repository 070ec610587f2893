/**
 * The real Redis stores of a revocation and one approved image (digest `sha256:aaa…`, tag `1`)
 * with its requests, for the revocation store tests: each test gets its own key prefix, removed after.
 */
import Redis from 'ioredis';
import { EventBus, Lifecycle, RevocationService, type DomainEvent, type UnpublishTask } from '../../../src/intake';
import { RedisApprovalStore, RedisRequestStore, RedisRevocationStore, type Approval } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { awaiting } from '../../unit/intake/fakes';

export const digest = `sha256:${'a'.repeat(64)}`;
export const image = 'docker.io/library/nginx';
export const scope = { team: 'payments', image, platforms: [] };
export const admin = { name: 'root', roles: ['admin' as const], teams: ['*'] };

/** Registers the hooks; `setup()` (within a test) builds the stores and the approval. */
export function revocationWorld(name: string) {
  const ctx = {} as { redis: Redis; prefix: string };
  beforeEach(() => { ctx.redis = new Redis(services().redis.url); ctx.prefix = uniqueName(name); });
  afterEach(async () => {
    const keys = await ctx.redis.keys(`${ctx.prefix}:*`);
    if (keys.length) await ctx.redis.del(...keys);
    ctx.redis.disconnect();
  });

  async function setup() {
    const { redis, prefix } = ctx;
    const approvals = new RedisApprovalStore(redis, prefix);
    const requests = new RedisRequestStore(redis, prefix);
    const revocations = new RedisRevocationStore(redis, prefix);
    const events = new EventBus();
    const published: DomainEvent[] = [];
    events.subscribe((e) => { published.push(e); });
    const queued: UnpublishTask[] = [];
    const service = new RevocationService({ approvals, requests, revocations, events, lifecycle: new Lifecycle(requests, events), cleanup: { unpublish: async (t) => { queued.push(t); } } });
    const approval: Approval = {
      team: 'payments', digest, image, tags: ['1'], platforms: [], internalRef: `reg/approved/payments/${image}@${digest}`,
      internalRepository: `approved/payments/${image}`, internalTag: '1', approvedAt: '2026-01-01T00:00:00.000Z', approvedBy: ['bob'], requestId: 'r1',
    };
    await approvals.put(approval);
    await approvals.addTag(scope, '1', digest);
    await requests.create(awaiting({ id: 'r1', status: 'approved', internalRef: approval.internalRef }));
    await requests.create(awaiting({ id: 'r2', status: 'approved', internalRef: approval.internalRef, createdAt: '2025-01-02T00:00:00.000Z' }));
    return { redis, prefix, approvals, requests, revocations, service, published, queued, approval };
  }
  return { ctx, setup };
}
