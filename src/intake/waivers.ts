/**
 * Waivers: an approver or admin of the request's team accepts one blocking finding, with a
 * reason and an expiry. The requester never can (four-eyes, 403 FOUR_EYES), even when they
 * hold the approver role. A waiver must name a finding (id or alias) the request really has,
 * so a typo cannot pass as an acceptance. Granting one re-evaluates the verdict in the same
 * save, and its audit record (`request.waiver_granted`) is committed with it to the audit outbox.
 */
import { AppError } from '../lib/errors';
import { checkWaiverExpiry } from '../policy/config';
import type { Principal, SubjectLinks } from '../lib/identity/types';
import type { IntakeRequest, RequestStore, WaiverRecord } from '../store/types';
import { isMember, requireRole } from './access';
import { outboxRecord, type DomainEvent, type EventBus } from './events';
import { isRequester } from './four-eyes';
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
  /** Subjects declared the same person (four-eyes; tokens-file `sameAs`). */
  links?: SubjectLinks;
}

export class WaiverService {
  constructor(private readonly d: WaiverServiceDeps) {}

  /** Grants (or replaces) the waiver of `input.findingId`; returns the request with its new verdict. */
  async grant(p: Principal, id: string, input: WaiverInput): Promise<IntakeRequest> {
    requireRole(p, ['approver', 'admin'], 'granting waivers');
    const current = await this.d.requests.get(id);
    if (!current || !isMember(p, current.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    if (isRequester(p, current, this.d.links)) throw new AppError('FOUR_EYES', 'you cannot waive findings on a request you made');
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
    // Refusals are answered before anything is saved; the waiver and its audit record are then
    // one atomic save (the outbox), so a waiver is never counted unrecorded, nor recorded unsaved.
    grant(current);
    const eventOf = (saved: IntakeRequest): DomainEvent => ({
      type: 'request.waiver_granted', actor: p.name, target: `request/${id}`,
      details: {
        team: saved.team, ...digestDetails(saved), findingId: waiver.findingId, reason: waiver.reason,
        expires: waiver.expires, at: waiver.at, verdict: saved.policy?.verdict ?? null,
      },
    });
    const request = await this.d.requests.update(id, grant, { records: (saved) => [outboxRecord(eventOf(saved), waiver.at)] });
    await this.d.events.publish({ ...eventOf(request), recorded: true });
    return request;
  }
}
