/**
 * An approval whose audit record cannot be written never counts (real Redis, real BullMQ): the
 * decision, the move to `promoting` and the audit record are one script, so when Redis refuses
 * writes (maxmemory reached), approve fails, the request stays awaiting approval with no
 * decision, the outbox holds no record, and the sweep queues no promotion. Runs on a Redis of
 * its own, since it sets maxmemory.
 */
import Redis from 'ioredis';
import { BullScheduler } from '../../../queue/scheduler';
import { auditSubscriber, RedisAuditLog } from '../../../src/audit';
import { DecisionService, EventBus, Lifecycle, sweepStuck } from '../../../src/intake';
import type { Principal } from '../../../src/lib/identity/types';
import type { Logger } from '../../../src/lib/logger';
import { RedisRequestStore, type IntakeRequest } from '../../../src/store';
import { startRedis, type RedisService } from '../../harness/redis';

const bob: Principal = { name: 'bob', roles: ['approver'], teams: ['pay'] };
const quiet = { error() {}, warn() {}, info() {}, child() { return quiet; } } as unknown as Logger;

function awaiting(id: string): IntakeRequest {
  const now = new Date(Date.now() - 120_000).toISOString();
  return {
    id, image: 'docker.io/library/nginx:1', team: 'pay', requestedBy: 'alice', justification: 'j', status: 'awaiting_approval',
    createdAt: now, updatedAt: now, source: { registry: 'docker.io', repository: 'library/nginx', tag: '1', digest: `sha256:${'a'.repeat(64)}` },
    platforms: [], scans: [], codeScans: [], policy: { verdict: 'pass', reasons: [] }, waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
  } as IntakeRequest;
}

describe('an approval the audit log cannot record', () => {
  let server: RedisService;
  let redis: Redis;
  let admin: Redis;
  let queue: BullScheduler;

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    admin = new Redis(server.url);
    queue = new BullScheduler(redis, 'unaudited');
  });
  afterAll(async () => {
    await admin.config('SET', 'maxmemory', '0');
    await queue.close();
    redis.disconnect();
    admin.disconnect();
    await server.stop();
  });

  it('is never saved: refused, still awaiting approval, no audit record, no promotion by the sweep', async () => {
    const store = new RedisRequestStore(redis, 'unaudited');
    const audit = new RedisAuditLog(redis, 'unaudited');
    const events = new EventBus(quiet);
    events.subscribe(auditSubscriber(audit, quiet));
    const decisions = new DecisionService({
      requests: store, scheduler: queue, lifecycle: new Lifecycle(store, events), events, approvalsRequired: 1,
      policy: () => ({ verdict: 'pass', reasons: [] }),
    });
    await store.create(awaiting('r1'));
    const outboxBefore = await redis.xlen('unaudited:audit:outbox');
    // Redis reaches maxmemory (noeviction) just before the approval is saved.
    await admin.config('SET', 'maxmemory', '1');
    try {
      await expect(decisions.approve(bob, 'r1', 'ok')).rejects.toThrow(/OOM/);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    const r = await store.get('r1');
    expect(r?.status).toBe('awaiting_approval');
    expect(r?.decisions).toEqual([]);
    expect(await redis.xlen('unaudited:audit:outbox')).toBe(outboxBefore);
    expect((await audit.list(0, 100)).map((e) => e.action)).not.toContain('request.approved');
    expect(await sweepStuck(store, queue, { now: () => Date.now() + 60_000 })).toEqual([]);
    expect(await queue.isLive('promote', 'r1')).toBe(false);
  });
});
