/**
 * Decisions commit their audit records with the change (the store's outbox), in the same
 * save: approve, reject and waive each leave exactly the records of what was saved, and the
 * events they publish afterwards say so (`recorded: true`), so the audit subscriber only
 * drains. A refused decision leaves no record. (Replaces the audit-before-save tests: the
 * record can no longer be missing, nor exist for a decision that was not saved.)
 */
import { DecisionService, EventBus, Lifecycle, WaiverService, type DomainEvent, type PipelineStep } from '../../../src/intake';
import type { Principal } from '../../../src/lib/identity/types';
import { awaiting, MemoryRequestStore } from './fakes';

const bob: Principal = { name: 'bob', roles: ['approver'], teams: ['payments'] };
const pass = () => ({ verdict: 'pass' as const, reasons: [], blocking: [] });

function setup(approvalsRequired = 1) {
  const published: DomainEvent[] = [];
  const events = new EventBus();
  events.subscribe((e) => { published.push(e); });
  const requests = new MemoryRequestStore();
  const scheduled: Array<[PipelineStep, string]> = [];
  const lifecycle = new Lifecycle(requests, events);
  const decisions = new DecisionService({ requests, lifecycle, events, policy: pass, approvalsRequired, scheduler: { schedule: async (s, id) => { scheduled.push([s, id]); } } });
  return { published, events, requests, scheduled, lifecycle, decisions };
}

describe('decision audit records', () => {
  it('approve: the decision, the move to promoting and both records in one save; events published as recorded', async () => {
    const { published, requests, scheduled, decisions } = setup();
    await requests.create(awaiting());
    const { request, promoting } = await decisions.approve(bob, 'r1', 'ok');
    expect(promoting).toBe(true);
    expect(request.status).toBe('promoting');
    expect(requests.outbox.map((r) => r.action)).toEqual(['request.approved', 'request.status_changed']);
    expect(requests.outbox[1].details).toMatchObject({ from: 'awaiting_approval', to: 'promoting' });
    expect(published.map((e) => [e.type, e.recorded])).toEqual([['request.approved', true], ['request.status_changed', true]]);
    expect(scheduled).toEqual([['promote', 'r1']]);
  });

  it('approve below the required count: one record, no move, nothing queued', async () => {
    const { requests, scheduled, decisions } = setup(2);
    await requests.create(awaiting());
    const { promoting } = await decisions.approve(bob, 'r1', 'ok');
    expect(promoting).toBe(false);
    expect(requests.outbox.map((r) => r.action)).toEqual(['request.approved']);
    expect(scheduled).toEqual([]);
  });

  it('reject after approve: 409 INVALID_STATE, no record, nothing published for it', async () => {
    const { published, requests, decisions } = setup();
    await requests.create(awaiting());
    await decisions.approve(bob, 'r1', 'ok');
    const before = [requests.outbox.length, published.length];
    await expect(decisions.reject({ ...bob, name: 'carol' }, 'r1', 'no')).rejects.toMatchObject({ code: 'INVALID_STATE', status: 409 });
    expect([requests.outbox.length, published.length]).toEqual(before);
  });

  it('reject: the status change and the rejection recorded with the save', async () => {
    const { requests, decisions } = setup();
    await requests.create(awaiting());
    await decisions.reject(bob, 'r1', 'no');
    expect(requests.outbox.map((r) => [r.action, r.actor])).toEqual([['request.status_changed', 'bob'], ['request.rejected', 'bob']]);
  });

  it('waive: the waiver and its record in one save', async () => {
    const { requests, events } = setup();
    await requests.create(awaiting());
    const now = () => new Date('2025-01-02T00:00:00Z');
    await new WaiverService({ requests, events, policy: pass, now }).grant(bob, 'r1', { findingId: 'CVE-2024-0001', reason: 'r', expires: '2025-02-01' });
    expect(requests.outbox).toEqual([expect.objectContaining({ action: 'request.waiver_granted', actor: 'bob', at: '2025-01-02T00:00:00.000Z', details: expect.objectContaining({ findingId: 'CVE-2024-0001', verdict: 'pass' }) })]);
  });
});
