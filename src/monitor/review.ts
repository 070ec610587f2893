/**
 * Deciding a re-review (an at-risk approval past its deadline, in the approvers' queue):
 * an approver or admin of the team, never the person who asked for the image (four-eyes),
 * keeps the approval by accepting its blocking findings until a date (at most
 * `policy.waivers.maxDays` ahead, like a waiver), with a reason. The acceptance is saved on the
 * health record with its audit record (`approval.review_kept`) in one script; the approval is
 * then re-evaluated (`approval.ok`) and blocks again when the acceptance expires. Revoking
 * instead is the admins' `POST /v1/approvals/revoke`.
 */
import { AppError } from '../lib/errors';
import type { Principal, SubjectLinks } from '../lib/identity/types';
import { isRequester } from '../intake';
import { checkWaiverExpiry } from '../policy/config';
import type { HealthService } from './health';
import { outboxOf, type MonitorEvent } from './ports';
import { healthView, type ApprovalKey, type HealthRecord, type HealthView } from './types';

export interface KeepInput extends ApprovalKey {
  reason: string;
  /** ISO 8601 instant. */
  until: string;
}

export class ReviewService {
  /** @param links who is the same person (the tokens file's `sameAs`), as approving compares it */
  constructor(private readonly h: HealthService, private readonly maxDays: number, private readonly links?: SubjectLinks) {}

  async keep(p: Principal, input: KeepInput): Promise<HealthView> {
    if (!p.roles.some((r) => r === 'approver' || r === 'admin')) throw new AppError('FORBIDDEN', 'deciding a re-review needs one of the roles: approver, admin');
    const notFound = new AppError('NOT_FOUND', `no approval of ${input.image}@${input.digest} in team ${input.team}`);
    if (!p.teams.includes('*') && !p.teams.includes(input.team)) throw notFound;
    const key = { team: input.team, image: input.image, digest: input.digest };
    const now = this.h.now();
    checkWaiverExpiry(input.until, now, this.maxDays);
    for (let attempt = 0; attempt < 8; attempt++) {
      const record = await this.h.records.get(key);
      if (!record || record.state === 'revoked') throw notFound;
      if (record.state !== 'at_risk') throw new AppError('INVALID_STATE', `the approval is ${record.state}, not at_risk: nothing to keep`);
      const request = await this.h.deps.requests.get(record.requestId);
      // Four-eyes as approving checks it: by subject and linked subjects, never by display name.
      if (request && isRequester(p, request, this.links)) throw new AppError('FOUR_EYES', 'you cannot decide the re-review of an image you requested');
      const at = now.toISOString();
      const until = new Date(input.until).toISOString();
      const kept = record.blocking.map((b) => ({ findingId: b.id, reason: input.reason, expires: until, by: p.name, at }));
      const accepted = [...(record.accepted ?? []).filter((a) => !kept.some((k) => k.findingId === a.findingId)), ...kept];
      const next: HealthRecord = { ...record, accepted, review: undefined };
      const event: MonitorEvent = {
        type: 'approval.review_kept', actor: p.name, target: `approval/${record.team}/${record.digest}`,
        details: { team: record.team, image: record.image, digest: record.digest, requestId: record.requestId, findings: kept.map((k) => k.findingId), until, reason: input.reason },
      };
      if (await this.h.records.save(next, record.version, [outboxOf(event, at)])) {
        await this.h.deps.events.publish({ ...event, recorded: true });
        return healthView((await this.h.evaluate(key)) ?? next);
      }
    }
    throw new AppError('CONFLICT', 'the approval changed while deciding; try again', { temporary: true });
  }
}
