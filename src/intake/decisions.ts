/**
 * Approving and rejecting, with four-eyes: nobody decides on a request they made, and
 * `policy.approvals.required` distinct approvers are needed before promotion is queued.
 * Approval re-evaluates the policy verdict with the request's current waivers and code scans
 * (a waiver may have expired, evidence may have arrived): a failing verdict refuses it with
 * 409 WAIVERS_REQUIRED naming the blocking findings, and the fresh verdict is saved.
 * Decisions must be audited: an approval is appended to the audit log before it is saved, so
 * one the log cannot record is never saved (503, no promotion); a rejection that cannot be recorded answers 503 (the rejection stands, and the
 * error log holds the full event).
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { IntakeRequest, PolicyOutcome, RequestStore } from '../store/types';
import { isMember, requireRole } from './access';
import type { EventBus } from './events';
import { digestDetails, type Lifecycle } from './lifecycle';
import { enqueue, type JobScheduler, type PolicyEvaluator } from './ports';
import { samePolicy } from './policy';

export interface DecisionDeps {
  requests: RequestStore;
  scheduler: JobScheduler;
  lifecycle: Lifecycle;
  events: EventBus;
  approvalsRequired: number;
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
    if (r.requestedBy === p.name) throw new AppError('FOUR_EYES', 'you cannot decide on a request you made');
    return r;
  }

  /** Records an approval; returns the request and whether promotion was queued. */
  async approve(p: Principal, id: string, comment: string): Promise<{ request: IntakeRequest; promoting: boolean }> {
    const current = await this.decidable(p, id, 'approving');
    const at = new Date().toISOString();
    const check = (r: IntakeRequest): PolicyOutcome => {
      if (r.status !== 'awaiting_approval') throw new AppError('INVALID_STATE', `request is ${r.status}, not awaiting_approval`);
      if (r.decisions.some((x) => x.decision === 'approve' && x.by === p.name)) throw new AppError('CONFLICT', 'you already approved this request');
      return this.d.policy({ request: r, reports: r.scans });
    };
    const refused: { policy?: PolicyOutcome } = {};
    const saveRefusal = (r: IntakeRequest, policy: PolicyOutcome): IntakeRequest | null => {
      // Save the fresh verdict (the queue shows it), then refuse.
      refused.policy = policy;
      return samePolicy(r.policy, policy) ? null : { ...r, policy, updatedAt: at };
    };
    // Refusals (state, duplicate, failing verdict) are answered before anything is audited.
    if (check(current).verdict === 'fail') {
      await this.d.requests.update(id, (r) => {
        refused.policy = undefined;
        const policy = check(r);
        return policy.verdict === 'fail' ? saveRefusal(r, policy) : null;
      });
      throw waiversRequired(refused.policy ?? this.d.policy({ request: current, reports: current.scans }));
    }
    // The audit entry comes BEFORE the save that makes the approval count: an approval the
    // audit log cannot record is never saved (503), so no promotion, no sweep, can act on it.
    // If the save then fails, a follow-up entry says so (an approval entry is an attempt that
    // counts unless an `request.approval_not_saved` entry with the same `at` follows it).
    await this.d.events.publish({ type: 'request.approved', actor: p.name, target: `request/${id}`, details: { team: current.team, ...digestDetails(current), comment, at } }, { required: true });
    let promoting = false;
    let request: IntakeRequest;
    try {
      request = await this.d.requests.update(id, (r) => {
        refused.policy = undefined; // the store may run this again after a concurrent save
        const policy = check(r);
        if (policy.verdict === 'fail') return saveRefusal(r, policy);
        const decisions = [...r.decisions, { by: p.name, decision: 'approve' as const, comment, at }];
        const approvers = new Set(decisions.filter((x) => x.decision === 'approve').map((x) => x.by));
        promoting = approvers.size >= this.d.approvalsRequired;
        return {
          ...r, policy, decisions, updatedAt: at,
          ...(promoting ? { status: 'promoting' as const, history: [...r.history, { status: 'promoting' as const, at, by: p.name }] } : {}),
        };
      });
      if (refused.policy) throw waiversRequired(refused.policy);
    } catch (err) {
      // Not required: if the log cannot take this either, the bus logs it at error.
      await this.d.events.publish({
        type: 'request.approval_not_saved', actor: p.name, target: `request/${id}`,
        details: { team: current.team, ...digestDetails(current), at, reason: err instanceof Error ? err.message : String(err) },
      });
      throw err;
    }
    if (promoting) {
      await this.d.events.publish({ type: 'request.status_changed', actor: p.name, target: `request/${id}`, details: { team: request.team, from: 'awaiting_approval', to: 'promoting', ...digestDetails(request) } });
      // A queue fault answers 503; the approval stands and the worker's sweep queues the promotion.
      await enqueue(this.d.scheduler, 'promote', id, request.team);
    }
    return { request, promoting };
  }

  async reject(p: Principal, id: string, reason: string): Promise<IntakeRequest> {
    await this.decidable(p, id, 'rejecting');
    const { request, moved } = await this.d.lifecycle.transition(id, ['awaiting_approval'], 'rejected', {
      by: p.name, note: reason,
      patch: (r) => ({ decisions: [...r.decisions, { by: p.name, decision: 'reject', comment: reason, at: new Date().toISOString() }] }),
    });
    if (!moved) throw new AppError('INVALID_STATE', `request is ${request.status}, not awaiting_approval`);
    await this.d.events.publish({ type: 'request.rejected', actor: p.name, target: `request/${id}`, details: { team: request.team, ...digestDetails(request), reason } }, { required: true });
    return request;
  }
}
