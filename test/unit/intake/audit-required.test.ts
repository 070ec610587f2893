/**
 * Decisions must not go unaudited: when the audit log cannot append, approve, reject, waive
 * and revoke answer 503 DEPENDENCY_UNAVAILABLE; an approval is audited before it is saved (none saved, no promotion
 * queued), and the failure is logged at error with ECS `event.outcome: failure` and the event.
 * Pipeline events still go through (the bus logs the failure only).
 */
import { auditSubscriber, type AuditLog } from '../../../src/audit';
import { ApprovedService, DecisionService, EventBus, Lifecycle, WaiverService, type PipelineStep } from '../../../src/intake';
import type { Principal } from '../../../src/lib/identity/types';
import type { Logger } from '../../../src/lib/logger';
import { awaiting, MemoryApprovalStore, MemoryIntakeRegistry, MemoryRequestStore } from './fakes';

const bob: Principal = { name: 'bob', roles: ['approver'], teams: ['payments'] };
const root: Principal = { name: 'root', roles: ['admin'], teams: ['*'] };
const pass = () => ({ verdict: 'pass' as const, reasons: [], blocking: [] });

function setup() {
  const logged: Array<Record<string, unknown>> = [];
  const logger = { error: (fields: Record<string, unknown>) => { logged.push(fields); } } as unknown as Logger;
  const down: AuditLog = { append: async () => { throw new Error('redis: connection lost'); }, drain: async () => { throw new Error('redis: connection lost'); }, list: async () => [], verify: async () => ({ ok: false as const, count: 0, seq: 1, reason: 'redis: connection lost' }) };
  const events = new EventBus();
  events.subscribe(auditSubscriber(down, logger));
  const requests = new MemoryRequestStore();
  const scheduled: Array<[PipelineStep, string]> = [];
  const lifecycle = new Lifecycle(requests, events);
  const decisions = new DecisionService({ requests, lifecycle, events, policy: pass, approvalsRequired: 1, scheduler: { schedule: async (s, id) => { scheduled.push([s, id]); } } });
  return { logged, events, requests, scheduled, lifecycle, decisions };
}

describe('decisions when the audit log is down', () => {
  it('never saves an approval it cannot record: 503, back to awaiting_approval, no promotion queued, logged as a failure', async () => {
    const { logged, requests, scheduled, decisions } = setup();
    await requests.create(awaiting());
    await expect(decisions.approve(bob, 'r1', 'ok')).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', status: 503 });
    const r = await requests.get('r1');
    expect(r?.status).toBe('awaiting_approval');
    expect(r?.decisions).toEqual([]);
    expect(scheduled).toEqual([]);
    expect(logged).toContainEqual(expect.objectContaining({ 'event.outcome': 'failure', 'event.action': 'request.approved', 'user.name': 'bob', 'portcullis.audit.target': 'request/r1' }));
  });

  it('answers 503 to reject, waive and revoke', async () => {
    const { requests, lifecycle, events, decisions } = setup();
    await requests.create(awaiting());
    await expect(new WaiverService({ requests, events, policy: pass, now: () => new Date('2025-01-02T00:00:00Z') }).grant(bob, 'r1', { findingId: 'CVE-2024-0001', reason: 'r', expires: '2025-02-01' }))
      .rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    await expect(decisions.reject(bob, 'r1', 'no')).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    const approvals = new MemoryApprovalStore();
    const digest = `sha256:${'a'.repeat(64)}`;
    await approvals.put({ team: 'payments', digest, image: 'docker.io/library/nginx', tags: [], internalRef: 'x', internalRepository: 'approved/x', internalTag: '1', approvedAt: 'x', approvedBy: ['bob'], requestId: 'r1' });
    await expect(new ApprovedService({ approvals, registry: new MemoryIntakeRegistry(), lifecycle, events }).revoke(root, { digest, reason: 'bad' }))
      .rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  });

  it('lets pipeline events through: their state change stands, the failure is logged', async () => {
    const { events, logged } = setup();
    await expect(events.publish({ type: 'request.status_changed', actor: 'system', target: 'request/r1', details: {} })).resolves.toBeUndefined();
    expect(logged).toHaveLength(1);
  });
});

describe('an approval audited but not saved', () => {
  it('is followed in the audit by request.approval_not_saved with the same `at`, and answers the save error', async () => {
    const seen: Array<{ type: string; details: Record<string, unknown> }> = [];
    const events = new EventBus();
    events.subscribe(Object.assign(async (e: { type: string; details: Record<string, unknown> }) => { seen.push(e); }, { critical: true }));
    const requests = new MemoryRequestStore();
    await requests.create(awaiting());
    requests.update = async () => { throw new Error('redis: OOM command not allowed'); };
    const scheduled: string[] = [];
    const decisions = new DecisionService({ requests, lifecycle: new Lifecycle(requests, events), events, policy: pass, approvalsRequired: 1, scheduler: { schedule: async (_s, id) => { scheduled.push(id); } } });
    await expect(decisions.approve(bob, 'r1', 'ok')).rejects.toThrow('OOM');
    expect(seen.map((e) => e.type)).toEqual(['request.approved', 'request.approval_not_saved']);
    expect(seen[1].details).toMatchObject({ at: seen[0].details.at, reason: 'redis: OOM command not allowed' });
    expect(scheduled).toEqual([]);
    expect((await requests.get('r1'))?.status).toBe('awaiting_approval');
  });
});

describe('a waiver the audit log cannot record', () => {
  const at = () => new Date('2025-01-02T00:00:00Z');
  const input = { findingId: 'CVE-2024-0001', reason: 'r', expires: '2025-02-01' };
  // Fails until CVE-2024-0001 is waived.
  const policy = ({ request }: { request: { waivers: Array<{ findingId: string }> } }) => request.waivers.some((w) => w.findingId === 'CVE-2024-0001')
    ? { verdict: 'pass' as const, reasons: [], blocking: [] }
    : { verdict: 'fail' as const, reasons: ['CVE-2024-0001'], blocking: ['CVE-2024-0001'] };

  it('is never saved: 503, no waiver on the request, the verdict does not count it', async () => {
    const { requests, events } = setup();
    await requests.create(awaiting({ policy: policy({ request: { waivers: [] } }) }));
    await expect(new WaiverService({ requests, events, policy, now: at }).grant(bob, 'r1', input)).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', status: 503 });
    const r = await requests.get('r1');
    expect(r?.waivers).toEqual([]);
    expect(r?.policy?.verdict).toBe('fail');
  });

  it('recorded but not saved: followed in the audit by request.waiver_not_saved with the same `at`', async () => {
    const seen: Array<{ type: string; details: Record<string, unknown> }> = [];
    const events = new EventBus();
    events.subscribe(Object.assign(async (e: { type: string; details: Record<string, unknown> }) => { seen.push(e); }, { critical: true }));
    const requests = new MemoryRequestStore();
    await requests.create(awaiting());
    requests.update = async () => { throw new Error('redis: OOM command not allowed'); };
    await expect(new WaiverService({ requests, events, policy, now: at }).grant(bob, 'r1', input)).rejects.toThrow('OOM');
    expect(seen.map((e) => e.type)).toEqual(['request.waiver_granted', 'request.waiver_not_saved']);
    expect(seen[0].details).toMatchObject({ findingId: 'CVE-2024-0001', verdict: 'pass', at: '2025-01-02T00:00:00.000Z' });
    expect(seen[1].details).toMatchObject({ at: '2025-01-02T00:00:00.000Z', error: 'redis: OOM command not allowed' });
  });
});
