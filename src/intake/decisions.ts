/**
 * Approving and rejecting, with four-eyes: nobody decides on a request they made, and
 * `policy.approvals.required` distinct approvers are needed before promotion is queued; both
 * compare stable subjects across identities (see four-eyes.ts), and with
 * `policy.approvals.distinctGroups` the approvers must come from distinct groups.
 * Approval re-evaluates the policy verdict with the request's current waivers and code scans
 * (a waiver may have expired, evidence may have arrived): a failing verdict refuses it with
 * 409 WAIVERS_REQUIRED naming the blocking findings, and the fresh verdict is saved.
 * Decisions must be audited: each decision and its audit record are committed together in one
 * atomic store operation (the audit outbox), so there is no decision without its record and
 * no record of a decision that was not saved.
 */
import { AppError } from '../lib/errors';
import type { Principal, SubjectLinks } from '../lib/identity/types';
import type { IntakeRequest, PolicyOutcome, RequestStore } from '../store/types';
import { isMember, requireRole } from './access';
import { outboxRecord, type DomainEvent, type EventBus } from './events';
import { alreadyApproved, approverRef, checkDistinctGroups, distinctApprovers, isRequester, type ApproverGroups } from './four-eyes';
import { digestDetails, statusChanged, type Lifecycle } from './lifecycle';
import { enqueue, type JobScheduler, type PolicyEvaluator } from './ports';
import { samePolicy } from './policy';

export interface DecisionDeps {
  requests: RequestStore;
  scheduler: JobScheduler;
  lifecycle: Lifecycle;
  events: EventBus;
  approvalsRequired: number;
  /** `policy.approvals.distinctGroups`. @defaultValue false */
  distinctGroups?: boolean;
  /** Subjects declared the same person (tokens-file `sameAs`). @defaultValue only what the records hold */
  links?: SubjectLinks;
  /** An approver's approving groups (distinctGroups). @defaultValue the principal's `approverGroups` */
  approverGroups?: ApproverGroups;
  policy: PolicyEvaluator;
}

function waiversRequired(policy: PolicyOutcome): AppError {
  const blocking = policy.blocking ?? [];
  const what = blocking.length ? `waive ${blocking.join(', ')} or reject` : 'this cannot be waived; reject, or scan again';
  return new AppError('WAIVERS_REQUIRED', `policy failed: ${policy.reasons.join('; ')}; ${what}`, { details: { blocking, reasons: policy.reasons } });
}

export class DecisionService {
  constructor(private readonly d: DecisionDeps) {}

  /** Checks role, team (404) and four-eyes (403) before any state is looked at. */
  private async decidable(p: Principal, id: string, what: string): Promise<IntakeRequest> {
    requireRole(p, ['approver', 'admin'], what);
    const r = await this.d.requests.get(id);
    if (!r || !isMember(p, r.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    if (isRequester(p, r, this.d.links)) throw new AppError('FOUR_EYES', 'you cannot decide on a request you made');
    return r;
  }

  /**
   * Records an approval; returns the request and whether promotion was queued. The decision,
   * the move to `promoting` (when enough approvers have approved) and their audit records are
   * one atomic save; a request that is no longer awaiting approval (a concurrent reject won)
   * answers 409 INVALID_STATE and nothing is saved, published or audited for this call.
   */
  async approve(p: Principal, id: string, comment: string): Promise<{ request: IntakeRequest; promoting: boolean }> {
    const current = await this.decidable(p, id, 'approving');
    const check = (r: IntakeRequest): PolicyOutcome => {
      if (r.status !== 'awaiting_approval') throw notAwaiting(r);
      if (alreadyApproved(p, r, this.d.links)) throw new AppError('CONFLICT', 'you already approved this request');
      if (this.d.distinctGroups) checkDistinctGroups(p, r, this.d.approvalsRequired, this.d.approverGroups);
      return this.d.policy({ request: r, reports: r.scans });
    };
    // Refusals (state, duplicate, failing verdict) are answered before anything is saved.
    if (check(current).verdict === 'fail') await this.refuse(id, check);
    // check() ran on this same record and refused a second approval by the same person: this one counts.
    const enough = (r: IntakeRequest): boolean => distinctApprovers(r.decisions, this.d.links) + 1 >= this.d.approvalsRequired;
    const eventsOf = (saved: IntakeRequest): DomainEvent[] => {
      const at = saved.updatedAt;
      const approved: DomainEvent = { type: 'request.approved', actor: p.name, target: `request/${id}`, details: { team: saved.team, ...digestDetails(saved), comment, at } };
      return saved.status === 'promoting' ? [approved, statusChanged(saved, 'awaiting_approval', p.name)] : [approved];
    };
    const { moved, request } = await this.d.requests.transition(id, ['awaiting_approval'], (r) => (enough(r) ? 'promoting' : 'awaiting_approval'), (r) => {
      const policy = check(r);
      if (policy.verdict === 'fail') throw waiversRequired(policy);
      const at = new Date().toISOString();
      const promoting = enough(r);
      return {
        ...r, policy, updatedAt: at, decisions: [...r.decisions, { by: p.name, decision: 'approve' as const, comment, at, ...approverRef(p, this.d.approverGroups) }],
        history: promoting ? [...r.history, { status: 'promoting' as const, at, by: p.name }] : r.history,
      };
    }, { records: (saved) => eventsOf(saved).map((e) => outboxRecord(e, saved.updatedAt)) });
    if (!moved) throw notAwaiting(request);
    // Read from what was saved, not from anything computed while building it.
    const promoting = request.status === 'promoting';
    for (const e of eventsOf(request)) await this.d.events.publish({ ...e, recorded: true });
    // A queue fault answers 503; the approval stands and the worker's sweep queues the promotion.
    if (promoting) await enqueue(this.d.scheduler, 'promote', id, request.team);
    return { request, promoting };
  }

  /** Saves the fresh failing verdict (the queue shows it), then refuses with WAIVERS_REQUIRED. */
  private async refuse(id: string, check: (r: IntakeRequest) => PolicyOutcome): Promise<never> {
    let policy: PolicyOutcome | undefined;
    const saved = await this.d.requests.update(id, (r) => {
      policy = check(r); // the store may run this again after a concurrent save: always reassigned
      return policy.verdict === 'fail' && !samePolicy(r.policy, policy) ? { ...r, policy, updatedAt: new Date().toISOString() } : null;
    });
    const final = policy ?? check(saved);
    if (final.verdict !== 'fail') throw new AppError('CONFLICT', 'the verdict changed while approving; try again', { temporary: true });
    throw waiversRequired(final);
  }

  /** Rejects; the loser of a race with an approval answers 409 INVALID_STATE, and nothing is audited for it. */
  async reject(p: Principal, id: string, reason: string): Promise<IntakeRequest> {
    await this.decidable(p, id, 'rejecting');
    const { request, moved } = await this.d.lifecycle.transition(id, ['awaiting_approval'], 'rejected', {
      by: p.name, note: reason,
      patch: (r) => ({ decisions: [...r.decisions, { by: p.name, decision: 'reject', comment: reason, at: new Date().toISOString(), ...approverRef(p, this.d.approverGroups) }] }),
      events: (saved) => [{ type: 'request.rejected', actor: p.name, target: `request/${id}`, details: { team: saved.team, ...digestDetails(saved), reason } }],
    });
    if (!moved) throw notAwaiting(request);
    return request;
  }
}

function notAwaiting(r: IntakeRequest): AppError {
  return new AppError('INVALID_STATE', `request is ${r.status}, not awaiting_approval`);
}
