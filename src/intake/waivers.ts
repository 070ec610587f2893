/**
 * Waivers: an approver or admin of the request's team accepts one blocking finding, with a
 * reason and an expiry. The requester never can (four-eyes, 403 FOUR_EYES), even when they
 * hold the approver role. A waiver must name a finding (id or alias) the request really has,
 * so a typo cannot pass as an acceptance. Granting one re-evaluates the verdict in the same
 * save. `request.waiver_granted` is published (the audit log must record it) before the save:
 * a waiver the log cannot record is never saved (503); one recorded but then not saved is
 * followed by `request.waiver_not_saved` with the same `at`.
 */
import { AppError } from '../lib/errors';
import { checkWaiverExpiry } from '../policy/config';
import type { Principal } from '../lib/identity/types';
import type { IntakeRequest, RequestStore, WaiverRecord } from '../store/types';
import { isMember, requireRole } from './access';
import type { EventBus } from './events';
import { digestDetails } from './lifecycle';
import { requestFindings } from './policy';
import type { PolicyEvaluator } from './ports';

/** A validated waiver body (see `waiverRequestSchema`); `expires` is ISO 8601. */
export interface WaiverInput {
  findingId: string;
  reason: string;
  expires: string;
}

export interface WaiverServiceDeps {
  requests: RequestStore;
  events: EventBus;
  policy: PolicyEvaluator;
  /** @defaultValue the system clock */
  now?: () => Date;
  /** How far ahead a waiver may expire (policy.waivers.maxDays). @defaultValue 365 */
  maxDays?: number;
}

export class WaiverService {
  constructor(private readonly d: WaiverServiceDeps) {}

  /** Grants (or replaces) the waiver of `input.findingId`; returns the request with its new verdict. */
  async grant(p: Principal, id: string, input: WaiverInput): Promise<IntakeRequest> {
    requireRole(p, ['approver', 'admin'], 'granting waivers');
    const current = await this.d.requests.get(id);
    if (!current || !isMember(p, current.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    if (current.requestedBy === p.name) throw new AppError('FOUR_EYES', 'you cannot waive findings on a request you made');
    const now = (this.d.now ?? (() => new Date()))();
    checkWaiverExpiry(input.expires, now, this.d.maxDays ?? 365);
    const waiver: WaiverRecord = { findingId: input.findingId, reason: input.reason, expires: new Date(input.expires).toISOString(), by: p.name, at: now.toISOString() };
    const grant = (r: IntakeRequest): IntakeRequest => {
      if (r.status !== 'awaiting_approval') throw new AppError('INVALID_STATE', `request is ${r.status}; waivers are granted while it awaits approval`);
      const known = requestFindings(r).some((f) => f.id === input.findingId || f.aliases.includes(input.findingId));
      if (!known) throw new AppError('INVALID_REQUEST', `body.findingId: ${input.findingId} is not a finding of this request`, { details: { field: 'findingId' } });
      const next = { ...r, waivers: [...r.waivers.filter((w) => w.findingId !== input.findingId), waiver], updatedAt: waiver.at };
      return { ...next, policy: this.d.policy({ request: next, reports: next.scans }) };
    };
    // Refusals are answered before anything is audited; the audit entry comes BEFORE the save,
    // so a waiver the audit log cannot record is never saved (503) and no verdict counts it.
    const planned = grant(current);
    const details = {
      team: current.team, ...digestDetails(current), findingId: waiver.findingId, reason: waiver.reason,
      expires: waiver.expires, at: waiver.at,
    };
    await this.d.events.publish({
      type: 'request.waiver_granted', actor: p.name, target: `request/${id}`,
      details: { ...details, verdict: planned.policy?.verdict ?? null },
    }, { required: true });
    let request: IntakeRequest;
    try {
      request = await this.d.requests.update(id, grant);
    } catch (err) {
      // The entry above is followed by this one (same `at`); if the log cannot take it either,
      // the bus logs it at error.
      await this.d.events.publish({
        type: 'request.waiver_not_saved', actor: p.name, target: `request/${id}`,
        details: { ...details, error: err instanceof Error ? err.message : String(err) },
      });
      throw err;
    }
    return request;
  }
}
