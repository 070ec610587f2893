/**
 * A revocation interrupted by a crash (issue 9 follow-up), on the real Redis stores. The crash
 * point is simulated by running only the revocation's first step, its one script, as a process
 * killed right after it would have: the deny-list and the ledger already agree (CI's lookup
 * finds nothing, a new request is refused), and the recorded intent lets the sweep finish the
 * rest (the requests' states, the registry delete, the announcement) exactly once.
 */
import { randomUUID } from 'node:crypto';
import { type DomainEvent } from '../../../src/intake';
import { outboxRecord } from '../../../src/intake/events';
import { type OutboxRecord, type RevocationIntent } from '../../../src/store';
import { admin, digest, image, revocationWorld, scope } from './revocation-world';

describe('a revocation interrupted after its first step', () => {
  const { ctx, setup } = revocationWorld('revcrash');

  it('leaves the deny-list and the ledger agreeing, and the sweep completes the rest once', async () => {
    const { approvals, requests, revocations, service, published, queued, approval } = await setup();
    // The first step as RevocationService.revoke runs it; the process dies right after.
    const at = new Date(Date.now() - 60_000).toISOString();
    const event: DomainEvent = { type: 'approval.revoked', actor: 'root', target: `approval/payments/${digest}`, details: { team: 'payments', digest, reason: 'malware' } };
    const intent: RevocationIntent = {
      id: randomUUID(), at, team: 'payments', digest, by: 'root', reason: 'malware', requestIds: ['r1', 'r2'],
      unpublish: [{ team: 'payments', image, repository: approval.internalRepository, digest }], event,
    };
    await revocations.revoke({ team: 'payments', digest, by: 'root', at, reason: 'malware' }, [approval], [outboxRecord(event, at)], intent);

    // Consistent at the crash point: denied, and no longer served.
    expect(await revocations.find('payments', image, digest)).toMatchObject({ reason: 'malware' });
    expect(await approvals.lookup(scope, { tag: '1' })).toBeNull();
    expect(await approvals.lookup(scope, { digest })).toBeNull();
    expect(await approvals.list('payments', { limit: 10 })).toEqual({ items: [], next: null });
    const outbox = (await ctx.redis.xrange(`${ctx.prefix}:audit:outbox`, '-', '+')).map(([, f]) => JSON.parse(f[1]) as OutboxRecord);
    expect(outbox.filter((r) => r.action === 'approval.revoked')).toHaveLength(1);
    // What the crash left undone is recorded.
    expect((await revocations.intents()).map((i) => i.id)).toEqual([intent.id]);
    expect((await requests.get('r1'))?.status).toBe('approved');

    // A fresh intent is left to the call making it.
    expect(await service.completePending(120_000)).toEqual([]);
    expect(await service.completePending()).toEqual([intent.id]);
    for (const id of ['r1', 'r2']) {
      const r = await requests.get(id);
      expect(r).toMatchObject({ status: 'revoked', internalRef: null, revocation: { by: 'root', reason: 'malware' } });
    }
    expect(queued).toEqual(intent.unpublish);
    expect(published.filter((e) => e.type === 'approval.revoked')).toHaveLength(1);
    expect(await revocations.intents()).toEqual([]);
    // Nothing left: a second sweep does nothing again.
    expect(await service.completePending()).toEqual([]);
    expect(queued).toHaveLength(1);
  });

  it('a revocation that runs to its end leaves no intent; completing an intent twice moves nothing twice', async () => {
    const { requests, revocations, service, published, queued } = await setup();
    await service.revoke(admin, { digest, team: 'payments', reason: 'cve' });
    expect(await revocations.intents()).toEqual([]);
    expect((await requests.get('r1'))?.status).toBe('revoked');
    const changes = published.filter((e) => e.type === 'request.status_changed').length;
    expect(changes).toBe(2);
    // The same intent completed again (a sweep racing the call, say): states stay, no new status event.
    const [again] = queued;
    await ctx.redis.hset(`${ctx.prefix}:revocation-intents`, 'x', JSON.stringify({
      id: 'x', at: '2026-01-01T00:00:00.000Z', team: 'payments', digest, by: 'root', reason: 'cve', requestIds: ['r1', 'r2'], unpublish: [again],
      event: { type: 'approval.revoked', actor: 'root', target: `approval/payments/${digest}`, details: {} },
    }));
    expect(await service.completePending()).toEqual(['x']);
    expect(published.filter((e) => e.type === 'request.status_changed')).toHaveLength(changes);
    expect((await requests.get('r2'))?.history.filter((h) => h.status === 'revoked')).toHaveLength(1);
  });
});
