/**
 * Races on the real Redis store (issue 9 item 2): a transition is one script that checks the
 * version and the state, so exactly one of two racing decisions wins, the loser gets 409
 * INVALID_STATE with nothing published or recorded for it, and the audit outbox agrees with
 * the final state; `fail` racing a late promotion never takes back what an approved request
 * serves; two workers running one step move the request once.
 */
import Redis from 'ioredis';
import { RedisAuditLog } from '../../../src/audit';
import { DecisionService, EventBus, Lifecycle, Pipeline, ScanRunner, type DomainEvent } from '../../../src/intake';
import { AppError } from '../../../src/lib/errors';
import type { Principal } from '../../../src/lib/identity/types';
import { createLogger } from '../../../src/lib/logger';
import { RedisApprovalStore, RedisRequestStore, type IntakeRequest, type OutboxRecord } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { awaiting, MemoryIntakeRegistry, MemoryScanResults } from '../../unit/intake/fakes';

const logger = createLogger({ level: 'silent' });
const bob: Principal = { name: 'bob', roles: ['approver'], teams: ['payments'] };
const carol: Principal = { name: 'carol', roles: ['approver'], teams: ['payments'] };
const digest = `sha256:${'a'.repeat(64)}`;
const quarantine = 'quarantine/docker.io/library/nginx';
const approvedRepo = 'approved/payments/docker.io/library/nginx';

/** A store whose next read lets `hook` run to completion before answering with what it read. */
class InterleavingStore extends RedisRequestStore {
  hook?: () => Promise<void>;
  override async get(id: string): Promise<IntakeRequest | null> {
    const r = await super.get(id);
    const hook = this.hook;
    this.hook = undefined;
    if (hook) await hook();
    return r;
  }
}

describe('transitions on the real Redis store', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('races');
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  async function outbox(id: string): Promise<OutboxRecord[]> {
    const rows = await redis.xrange(`${prefix}:audit:outbox`, '-', '+');
    return rows.map(([, fields]) => JSON.parse(fields[1]) as OutboxRecord).filter((r) => r.target === `request/${id}`);
  }

  function wire(store: RedisRequestStore, registry = new MemoryIntakeRegistry()) {
    const published: DomainEvent[] = [];
    const events = new EventBus();
    events.subscribe((e) => { published.push(e); });
    const approvals = new RedisApprovalStore(redis, prefix);
    const lifecycle = new Lifecycle(store, events);
    const scheduled: string[] = [];
    const scheduler = { schedule: async (step: string, id: string) => { scheduled.push(`${step}:${id}`); } };
    const decisions = new DecisionService({ requests: store, lifecycle, events, scheduler, policy: () => ({ verdict: 'pass', reasons: [] }), approvalsRequired: 1 });
    const pipeline = new Pipeline({
      requests: store, approvals, registry, lifecycle, logger, scheduler, policy: () => ({ verdict: 'pass', reasons: [] }),
      scans: new ScanRunner([], new MemoryScanResults(), logger),
      settings: { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' },
    });
    return { published, approvals, registry, decisions, pipeline, scheduled };
  }

  it('approve against reject, 50 times: exactly one wins, the loser gets 409 INVALID_STATE, the outbox agrees', async () => {
    const store = new RedisRequestStore(redis, prefix);
    const { published, decisions, scheduled } = wire(store);
    const winners = { approve: 0, reject: 0 };
    for (let i = 0; i < 50; i++) {
      const id = `r${i}`;
      await store.create(awaiting({ id, version: 0 }));
      const [a, r] = await Promise.allSettled([decisions.approve(bob, id, 'ok'), decisions.reject(carol, id, 'no')]);
      expect([a.status, r.status].sort()).toEqual(['fulfilled', 'rejected']);
      const loser = a.status === 'rejected' ? a : r as PromiseRejectedResult;
      expect((loser as PromiseRejectedResult).reason).toMatchObject({ code: 'INVALID_STATE', status: 409 });
      const final = await store.get(id);
      const actions = (await outbox(id)).map((x) => `${x.action}${x.details.to ? `:${String(x.details.to)}` : ''}`);
      const events = published.filter((e) => e.target === `request/${id}`).map((e) => e.type);
      if (a.status === 'fulfilled') {
        winners.approve++;
        expect(final?.status).toBe('promoting');
        expect(final?.decisions.map((d) => d.decision)).toEqual(['approve']);
        expect(actions).toEqual(['request.approved', 'request.status_changed:promoting']);
        expect(events).toEqual(['request.approved', 'request.status_changed']);
        expect(scheduled).toContain(`promote:${id}`);
      } else {
        winners.reject++;
        expect(final?.status).toBe('rejected');
        expect(final?.decisions.map((d) => d.decision)).toEqual(['reject']);
        expect(actions).toEqual(['request.status_changed:rejected', 'request.rejected']);
        expect(events).toEqual(['request.status_changed', 'request.rejected']);
        expect(scheduled).not.toContain(`promote:${id}`);
      }
    }
    expect(winners.approve + winners.reject).toBe(50);
    // The chained audit log (drained from the outbox) agrees with every final state, each record once.
    const audit = new RedisAuditLog(redis, prefix);
    await audit.drain();
    const entries = await audit.list(0, 1000);
    for (let i = 0; i < 50; i++) {
      const final = (await store.get(`r${i}`))?.status;
      const actions = entries.filter((e) => e.target === `request/r${i}`).map((e) => e.action);
      expect(actions).toEqual(final === 'promoting' ? ['request.approved', 'request.status_changed'] : ['request.status_changed', 'request.rejected']);
    }
    expect((await audit.verify()).ok).toBe(true);
  });

  it('fail reading promoting while a late promotion completes: not moved, the approved image stays served', async () => {
    const store = new InterleavingStore(redis, prefix);
    const late = wire(new RedisRequestStore(redis, prefix));
    const registry = late.registry;
    const failing = wire(store, registry);
    registry.manifests.set(`${quarantine}@${digest}`, digest);
    await store.create(awaiting({ status: 'promoting', version: 0, decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2025-01-01T00:00:00.000Z' }] }));
    // fail() reads `promoting`; before it saves, the promotion completes.
    store.hook = () => late.pipeline.promote('r1');
    await failing.pipeline.fail('r1', new AppError('SCAN_FAILED', 'a stalled job given up'));
    const r = await store.get('r1');
    expect(r?.status).toBe('approved');
    expect(registry.served(approvedRepo)).toContain(`${approvedRepo}:1`);
    expect((await late.approvals.get('payments', 'docker.io/library/nginx', digest))?.pending).toBeUndefined();
    expect((await outbox('r1')).map((x) => x.details.to)).toEqual(['approved']);
  });

  it('fail against promotion, concurrently, 20 times: whatever wins, served and ledger agree with the state', async () => {
    for (let i = 0; i < 20; i++) {
      const id = `p${i}`;
      const store = new RedisRequestStore(redis, prefix);
      const w = wire(store);
      w.registry.manifests.set(`${quarantine}@${digest}`, digest);
      const team = `t${i}`;
      await store.create(awaiting({ id, team, status: 'promoting', version: 0, decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2025-01-01T00:00:00.000Z' }] }));
      await Promise.allSettled([w.pipeline.promote(id), w.pipeline.fail(id, new AppError('SCAN_FAILED', 'given up'))]);
      const r = await store.get(id);
      const repo = `approved/${team}/docker.io/library/nginx`;
      const approval = await w.approvals.get(team, 'docker.io/library/nginx', digest);
      if (r?.status === 'approved') {
        expect(w.registry.served(repo)).toContain(`${repo}:1`);
        expect(approval?.pending).toBeUndefined();
      } else {
        expect(r?.status).toBe('failed');
        expect(w.registry.served(repo)).toEqual([]);
        expect(approval).toBeNull();
      }
      expect((await outbox(id)).map((x) => x.details.to)).toEqual([r?.status]);
    }
  });

  it('a transition from a record its caller read (known) saves a read, and from one no longer current moves the stored record, losing nothing', async () => {
    const store = new RedisRequestStore(redis, prefix);
    const lifecycle = new Lifecycle(store, new EventBus());
    await store.create(awaiting({ status: 'scanning', version: 0, scans: [] }));
    const stale = (await store.get('r1'))!;
    // Another writer saves in between (a waiver, a code scan): the known record is one version behind.
    await store.update('r1', (cur) => ({ ...cur, justification: 'changed meanwhile' }));
    const reads = jest.spyOn(store, 'get');
    const moved = await lifecycle.transition('r1', ['scanning'], 'awaiting_approval', { known: stale, note: 'policy pass', patch: () => ({ policy: { verdict: 'pass', reasons: [] } }) });
    expect(moved.moved).toBe(true);
    // The version check turned the stale record down; the retry read the stored one.
    expect(reads).toHaveBeenCalledTimes(1);
    const r = (await store.get('r1'))!;
    expect(r).toMatchObject({ status: 'awaiting_approval', justification: 'changed meanwhile', version: stale.version + 2, policy: { verdict: 'pass' } });
    expect(r.history.map((h) => h.status)).toEqual(['awaiting_approval']);
    // A current known record moves without a read; one whose status is not in `from` is not trusted (the stored record answers).
    reads.mockClear();
    expect((await lifecycle.transition('r1', ['awaiting_approval'], 'promoting', { known: r })).moved).toBe(true);
    expect(reads).not.toHaveBeenCalled();
    const notMoved = await lifecycle.transition('r1', ['awaiting_approval'], 'rejected', { known: r });
    expect(notMoved).toMatchObject({ moved: false, request: { status: 'promoting' } });
    expect(reads).toHaveBeenCalledTimes(1);
    expect((await outbox('r1')).map((x) => x.details.to)).toEqual(['awaiting_approval', 'promoting']);
  });

  it('many writers at once: 10 transitions from the same known record and 10 updates beside them move the request once and lose no update', async () => {
    const store = new RedisRequestStore(redis, prefix);
    const lifecycle = new Lifecycle(store, new EventBus());
    await store.create(awaiting({ status: 'scanning', version: 0, scans: [], history: [] }));
    const known = (await store.get('r1'))!;
    const at = new Date(0).toISOString();
    const [moves] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, () => lifecycle.transition('r1', ['scanning'], 'awaiting_approval', { known, note: 'policy pass' }))),
      Promise.all(Array.from({ length: 10 }, (_, i) => store.update('r1', (cur) => ({ ...cur, history: [...cur.history, { status: cur.status, at, by: `writer-${i}` }] })))),
    ]);
    expect(moves.filter((m) => m.moved)).toHaveLength(1);
    const r = (await store.get('r1'))!;
    expect(r.status).toBe('awaiting_approval');
    expect(r.version).toBe(known.version + 11);
    expect(r.history.filter((h) => h.by.startsWith('writer-')).map((h) => h.by).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `writer-${i}`).sort());
    expect(r.history.filter((h) => h.status === 'awaiting_approval' && h.by === 'system')).toHaveLength(1);
    expect((await outbox('r1')).map((x) => x.details.to)).toEqual(['awaiting_approval']);
  });

  it('two workers on one step move the request once: one history entry, one record', async () => {
    const store = new RedisRequestStore(redis, prefix);
    const w = wire(store);
    await store.create(awaiting({ status: 'staging', version: 0, stagedDigest: undefined }));
    await Promise.all([w.pipeline.stage('r1'), w.pipeline.stage('r1')]);
    let r = await store.get('r1');
    expect(r?.status).toBe('scanning');
    expect(r?.history.filter((h) => h.status === 'scanning')).toHaveLength(1);
    await Promise.all([w.pipeline.scan('r1'), w.pipeline.scan('r1')]);
    r = await store.get('r1');
    expect(r?.status).toBe('awaiting_approval');
    expect(r?.history.filter((h) => h.status === 'awaiting_approval')).toHaveLength(1);
    expect((await outbox('r1')).map((x) => x.details.to)).toEqual(['scanning', 'awaiting_approval']);
  });
});
