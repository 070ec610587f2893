/**
 * Retention (issue 9 item 7), run by a scheduled job (queue/retention.ts):
 * - the quarantine manifest of a rejected or failed request goes `quarantineDays` after the
 *   request ended, unless another request that still needs it (in the pipeline, awaiting
 *   approval, promoting, or approved) stages the same digest in the same repository;
 * - the record of a rejected, failed or revoked request goes `requestDays` after it ended.
 * Approved requests and their images are never touched (they stay until revoked). Each
 * deletion is audited, its record committed with the change.
 */
import type { Logger } from '../lib/logger';
import { requestDigest, type IntakeRequest, type RequestStatus, type RequestStore, type RequestSummary } from '../store/types';
import { outboxRecord, SYSTEM_ACTOR, type DomainEvent, type EventBus } from './events';
import { quarantineRepository } from './paths';
import type { IntakeRegistry } from './ports';

/** States in which a request may still use its quarantined image. */
const NEEDS_QUARANTINE: readonly RequestStatus[] = ['requested', 'resolving', 'staging', 'scanning', 'awaiting_approval', 'promoting', 'approved'];
const PURGE_QUARANTINE: readonly RequestStatus[] = ['rejected', 'failed'];
const EXPIRE: readonly RequestStatus[] = ['rejected', 'failed', 'revoked'];
const DAY_MS = 24 * 3600 * 1000;

export interface RetentionSettings {
  quarantinePrefix: string;
  quarantineDays: number;
  requestDays: number;
  /** Deletions per run at most; the next run does the rest. @defaultValue 500 */
  maxPerRun?: number;
}

export interface RetentionDeps {
  requests: RequestStore;
  registry: Pick<IntakeRegistry, 'unpublish'>;
  settings: RetentionSettings;
  logger: Logger;
  /** Each deletion is published after its commit (recorded: its audit record is already in the outbox). */
  events?: EventBus;
}

export interface RetentionOutcome {
  /** Requests whose quarantine manifest was deleted. */
  purged: string[];
  /** Requests whose quarantine manifest was kept for another request that needs it. */
  kept: string[];
  /** Request records deleted. */
  expired: string[];
}

export class RetentionService {
  constructor(private readonly d: RetentionDeps) {}

  async run(now: Date = new Date()): Promise<RetentionOutcome> {
    const out: RetentionOutcome = { purged: [], kept: [], expired: [] };
    const max = this.d.settings.maxPerRun ?? 500;
    const quarantineCutoff = now.getTime() - this.d.settings.quarantineDays * DAY_MS;
    const requestCutoff = now.getTime() - this.d.settings.requestDays * DAY_MS;
    for (const status of PURGE_QUARANTINE) {
      for await (const r of this.ended(status, quarantineCutoff)) {
        if (r.quarantinePurgedAt || out.purged.length >= max) continue;
        await this.purgeQuarantine(r, now, out);
      }
    }
    for (const status of EXPIRE) {
      for await (const r of this.ended(status, requestCutoff)) {
        if (out.expired.length >= max) break;
        const full = await this.d.requests.get(r.id);
        if (!full || full.status !== status) continue;
        // A manifest another request still needs stays (that request's own retention takes it later).
        if (PURGE_QUARANTINE.includes(status) && !full.quarantinePurgedAt) await this.purgeQuarantine(full, now, out);
        const current = (await this.d.requests.get(r.id)) ?? full;
        const event: DomainEvent = { type: 'request.expired', actor: SYSTEM_ACTOR, target: `request/${r.id}`, details: { team: r.team, status, image: r.image, digest: requestDigest(r) ?? null, endedAt: r.updatedAt, requestDays: this.d.settings.requestDays } };
        if (await this.d.requests.delete(current, { records: () => [outboxRecord(event, now.toISOString())] })) {
          out.expired.push(r.id);
          await this.d.events?.publish({ ...event, recorded: true });
        }
      }
    }
    if (out.purged.length || out.expired.length) this.d.logger.info({ purged: out.purged.length, kept: out.kept.length, expired: out.expired.length }, 'retention');
    return out;
  }

  /** Requests in `status` that ended before `cutoff`, oldest first (by creation: none created after the cutoff can qualify). */
  private async *ended(status: RequestStatus, cutoff: number): AsyncGenerator<RequestSummary> {
    let cursor: string | undefined;
    do {
      const page = await this.d.requests.list({ teams: '*', status, limit: 100, order: 'asc', ...(cursor ? { cursor } : {}) });
      for (const r of page.items) {
        if (Date.parse(r.createdAt) > cutoff) return;
        if (r.status === status && Date.parse(r.updatedAt) <= cutoff) yield r;
      }
      cursor = page.next ?? undefined;
    } while (cursor);
  }

  /** Deletes the request's quarantine manifest unless another request needs it; returns whether the request is done with it. */
  private async purgeQuarantine(r: Pick<IntakeRequest, 'id' | 'team' | 'source' | 'stagedDigest'>, now: Date, out: RetentionOutcome): Promise<boolean> {
    const digest = requestDigest(r);
    const repository = quarantineRepository(this.d.settings.quarantinePrefix, r.source);
    if (digest && r.stagedDigest) {
      const others = (await Promise.all((await this.d.requests.idsByDigest('*', digest)).filter((id) => id !== r.id).map((id) => this.d.requests.get(id))))
        .filter((o): o is IntakeRequest => o !== null && quarantineRepository(this.d.settings.quarantinePrefix, o.source) === repository && requestDigest(o) === digest);
      const needing = others.find((o) => NEEDS_QUARANTINE.includes(o.status));
      if (needing) {
        out.kept.push(r.id);
        return false;
      }
      await this.d.registry.unpublish(repository, digest);
    }
    const at = now.toISOString();
    const event: DomainEvent = { type: 'request.quarantine_purged', actor: SYSTEM_ACTOR, target: `request/${r.id}`, details: { team: r.team, repository, digest: digest ?? null, quarantineDays: this.d.settings.quarantineDays } };
    await this.d.requests.update(r.id, (cur) => (cur.quarantinePurgedAt ? null : { ...cur, quarantinePurgedAt: at }), { records: () => [outboxRecord(event, at)] });
    out.purged.push(r.id);
    await this.d.events?.publish({ ...event, recorded: true });
    return true;
  }
}
