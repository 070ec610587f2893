/**
 * The health sweep, run by a scheduled job (queue/monitor.ts) every `monitor.sweepEvery`:
 * 1. every approval is re-evaluated (a waiver or an allowlist entry expires without an event),
 *    at most once an hour across the workers (reading every approved request is the costly part;
 *    findings changes arrive by event, and expiries are judged in days);
 * 2. waivers expiring within `monitor.waiverWarning` raise `waiver.expiring`, once per waiver
 *    per day at most (a Redis SET NX per waiver and UTC day, so several workers agree);
 * 3. at-risk approvals past their deadline are revoked (`monitor.autoRevoke`), through the
 *    intake revocation service with a reason naming the findings, or put in the approvers'
 *    queue as a re-review (`approval.review_required`, audited with the change).
 * First, though: `findings.updated` events a writer stored with a report and did not publish
 * (it died in between, or its publish failed: a health re-evaluation that failed;
 * ./findings-outbox.ts) are published, once older than FINDINGS_OUTBOX_GRACE_MS (60 s: the
 * writer may still be at it), so the approvals they name are re-evaluated at this run rather
 * than at the hourly full one. One that fails again stays for the next run (logged).
 * Every step is idempotent, so two workers running the sweep at once do no harm.
 */
import { FINDINGS_OUTBOX_GRACE_MS } from './findings-outbox';
import type { HealthService } from './health';
import { healthDetails } from './health';
import { outboxOf, SYSTEM_ACTOR, type MonitorEvent } from './ports';
import { approvalKeyString, type ApprovalKey, type HealthRecord } from './types';

const DUE_PAGE = 500;

export interface SweepResult {
  /** Whether this run re-evaluated every approval (the first run of each UTC hour), or only acted on deadlines. */
  full: boolean;
  evaluated: number;
  atRisk: number;
  revoked: string[];
  reviews: string[];
  waiverAlerts: number;
  /** `findings.updated` events owed by a writer that stopped before publishing them, published by this run. */
  republished: number;
}

/** Publishes the owed `findings.updated` events written before `before` (epoch ms); returns how many (./findings-outbox.ts). */
export type OwedFindings = (before: number) => Promise<number>;

/** The revocation reason: which findings, why they block, and that the grace ended. */
export function revocationReason(r: HealthRecord): string {
  const due = r.blocking.filter((b) => Date.parse(b.deadline) <= Date.parse(r.deadline ?? b.deadline));
  const what = (due.length ? due : r.blocking).slice(0, 5).map((b) => `${b.id} (${b.severity}${b.package ? ` in ${b.package}` : ''}, ${b.cause.replace('_', ' ')})`);
  const more = r.blocking.length > what.length ? ` and ${r.blocking.length - what.length} more` : '';
  return `automatic: ${what.join(', ')}${more} blocks under today's policy; the grace period ended ${r.deadline ?? ''}`.trim();
}

export class HealthSweep {
  constructor(private readonly h: HealthService, private readonly owed?: OwedFindings) {}

  /** One run; `full` forces the re-evaluation of every approval (else: the first run of each UTC hour does it). */
  async run(options: { full?: boolean } = {}): Promise<SweepResult> {
    const hour = this.h.now().toISOString().slice(0, 13);
    const full = (await this.h.records.once('full-sweep', hour)) || options.full === true;
    const out: SweepResult = { full, evaluated: 0, atRisk: 0, revoked: [], reviews: [], waiverAlerts: 0, republished: 0 };
    if (this.owed) {
      try {
        // Before the deadlines: an event owed may move an approval's risk.
        out.republished = await this.owed(this.h.now().getTime() - FINDINGS_OUTBOX_GRACE_MS);
        if (out.republished) this.h.deps.logger.warn({ events: out.republished }, 'published findings.updated events a writer stored and did not publish');
      } catch (err) {
        this.h.deps.logger.error({ error: err }, 'owed findings.updated events not published; the next sweep retries');
      }
    }
    if (full) await this.everyApproval(out);
    await this.deadlines(out);
    return out;
  }

  private async everyApproval(out: SweepResult): Promise<void> {
    const approvals = await this.h.deps.all();
    for (const a of approvals) {
      try {
        const r = await this.h.evaluate(a);
        if (!r) continue;
        out.evaluated += 1;
        if (r.state === 'at_risk') out.atRisk += 1;
        out.waiverAlerts += await this.waiverAlerts(a.requestId, a);
      } catch (err) {
        this.h.deps.logger.error({ error: err, approval: approvalKeyString(a) }, 'approval health evaluation failed; the next sweep retries');
      }
    }
  }

  /** `waiver.expiring` for each waiver of the approved request expiring within the warning window. */
  private async waiverAlerts(requestId: string, a: ApprovalKey): Promise<number> {
    const request = await this.h.deps.requests.get(requestId);
    if (!request) return 0;
    const now = this.h.now();
    const day = now.toISOString().slice(0, 10);
    let n = 0;
    for (const w of request.waivers) {
      const expires = Date.parse(w.expires);
      if (!(expires > now.getTime() && expires <= now.getTime() + this.h.settings.monitor.waiverWarning)) continue;
      if (!(await this.h.records.once(`waiver|${requestId}|${w.findingId}`, day))) continue;
      await this.h.deps.events.publish({
        type: 'waiver.expiring', actor: SYSTEM_ACTOR, target: `request/${requestId}`,
        details: {
          team: a.team, image: a.image, digest: a.digest, requestId, findingId: w.findingId, expires: w.expires, grantedBy: w.by,
          daysLeft: Math.ceil((expires - now.getTime()) / 86_400_000),
        },
      });
      n += 1;
    }
    return n;
  }

  /** At-risk approvals whose deadline passed: revoke, or queue a re-review. */
  private async deadlines(out: SweepResult): Promise<void> {
    const nowMs = this.h.now().getTime();
    const handled = new Set<string>();
    for (;;) {
      const due = (await this.h.records.due(nowMs, DUE_PAGE)).filter((k) => !handled.has(approvalKeyString(k)));
      if (due.length === 0) return;
      for (const key of due) {
        handled.add(approvalKeyString(key));
        try {
          await this.pastDeadline(key, out);
        } catch (err) {
          this.h.deps.logger.error({ error: err, approval: approvalKeyString(key) }, 'could not act on an at-risk approval past its deadline; the next sweep retries');
        }
      }
    }
  }

  private async pastDeadline(key: ApprovalKey, out: SweepResult): Promise<void> {
    const r = await this.h.evaluate(key);
    if (!r) {
      // No longer in the ledger (revoked while no subscriber heard it): close the record.
      const stale = await this.h.records.get(key);
      if (stale && stale.state !== 'revoked') await this.h.markRevoked(key.team, key.digest, [key.image], SYSTEM_ACTOR, 'no longer in the approved ledger');
      return;
    }
    if (r.state !== 'at_risk' || !r.deadline || Date.parse(r.deadline) > this.h.now().getTime()) return;
    if (this.h.settings.monitor.autoRevoke) {
      const reason = revocationReason(r);
      await this.h.deps.revoke(key, reason);
      await this.h.markRevoked(key.team, key.digest, [key.image], SYSTEM_ACTOR, reason);
      out.revoked.push(approvalKeyString(key));
      return;
    }
    if (r.review) return;
    const at = this.h.now().toISOString();
    const next: HealthRecord = { ...r, review: { since: at } };
    const event: MonitorEvent = {
      type: 'approval.review_required', actor: SYSTEM_ACTOR, target: `approval/${r.team}/${r.digest}`,
      details: { ...healthDetails(next, 'at_risk'), reviewSince: at },
    };
    if (await this.h.records.save(next, r.version, [outboxOf(event, at)])) {
      await this.h.deps.events.publish({ ...event, recorded: true });
      out.reviews.push(approvalKeyString(key));
    }
  }
}
