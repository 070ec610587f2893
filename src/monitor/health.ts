/**
 * Approval health (issue 13.3). Each approval is re-evaluated under today's policy when its
 * findings change (`findings.updated`, published by the inventory workstream after a re-match,
 * a Clair notification or a rescan), when it is made, and by the periodic sweep (a waiver or an
 * allowlist entry may expire without any event). A transition (ok → at_risk, at_risk → ok, new
 * blocking findings) is saved with its audit record in one script and then published:
 * `approval.at_risk`, `approval.ok`, and the webhook sink delivers them. Revocation goes through
 * the intake revocation service; it never touches running workloads.
 */
import type { PolicyConfig } from '../policy';
import type { Finding, ScanReport } from '../scanners/types';
import type { Approval, IntakeRequest } from '../store/types';
import { assess, KnownFindings } from './assess';
import type { MonitorConfig } from './config';
import type { HealthStore } from './health-store';
import { outboxOf, SYSTEM_ACTOR, type HealthDeps, type MonitorEvent } from './ports';
import { approvalKeyString, type ApprovalKey, type BlockingFinding, type HealthRecord } from './types';

const MAX_SAVE_ATTEMPTS = 8;

export interface HealthSettings {
  policy: PolicyConfig;
  monitor: Pick<MonitorConfig, 'grace' | 'autoRevoke' | 'waiverWarning'>;
}

/** The image findings of `request` plus its code-scan findings: what was approved. */
export function approvedFindings(request: IntakeRequest): Finding[] {
  return [...request.scans.flatMap((s) => s.findings), ...request.codeScans.flatMap((c) => c.findings)];
}

/** What a record says to the bus: the facts of the transition, no free text beyond titles. */
export function healthDetails(r: HealthRecord, from: string): Record<string, unknown> {
  return {
    team: r.team, image: r.image, digest: r.digest, requestId: r.requestId, from, to: r.state,
    ...(r.deadline ? { deadline: r.deadline } : {}),
    // Every name of each blocking advisory (GHSA-… and its CVE-…), so receivers match on either.
    cves: [...new Set(r.blocking.flatMap((b) => [b.id, ...b.aliases]))],
    blocking: r.blocking.map((b) => ({ id: b.id, aliases: b.aliases, severity: b.severity, package: b.package ?? null, installedVersion: b.installedVersion ?? null, fixedVersion: b.fixedVersion ?? null, cause: b.cause, deadline: b.deadline })),
    added: r.diff.addedTotal, removed: r.diff.removedTotal,
  };
}

/**
 * Whether two sets of blocking findings are the same risks, each known in the other under any of
 * its ids: a GO record and its GHSA twin merged into one finding, or the merged finding's lead id
 * flipping, is not news (an exact-id comparison re-sent `approval.at_risk` for it).
 */
function sameRisks(a: readonly BlockingFinding[], b: readonly BlockingFinding[]): boolean {
  const inA = new KnownFindings(a, true);
  const inB = new KnownFindings(b, true);
  return a.every((f) => inB.has(f)) && b.every((f) => inA.has(f));
}

export class HealthService {
  readonly now: () => Date;

  constructor(private readonly d: HealthDeps, private readonly store: HealthStore, private readonly s: HealthSettings) {
    this.now = d.now ?? (() => new Date());
  }

  /** The current image findings of `digest`: per scanner, a stored report newer than the approved one, else the approved one. */
  async currentFindings(request: IntakeRequest, digest: string): Promise<Finding[]> {
    const reports: ScanReport[] = [];
    for (const approved of request.scans) {
      const stored = await this.d.scanResults.get(approved.scanner, digest);
      const newer = stored && stored.status === 'succeeded' && Date.parse(stored.finishedAt) >= Date.parse(approved.finishedAt);
      reports.push(newer ? stored : approved);
    }
    return [...reports.flatMap((r) => r.findings), ...request.codeScans.flatMap((c) => c.findings)];
  }

  /**
   * Re-evaluates one approval; returns its record (null when the ledger has no completed
   * approval of it). Concurrent evaluations of one approval are safe: each save is a
   * compare-and-set, and only the one that saved a transition publishes it.
   */
  async evaluate(key: ApprovalKey): Promise<HealthRecord | null> {
    const approval = await this.d.approvals.get(key.team, key.image, key.digest);
    if (!approval || approval.pending) return null;
    const request = await this.d.requests.get(approval.requestId);
    if (!request) return null;
    const baseline = approvedFindings(request);
    const current = await this.currentFindings(request, approval.digest);
    for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt++) {
      const previous = await this.store.get(key);
      if (previous?.state === 'revoked' && previous.requestId === approval.requestId) return previous;
      const prev = previous?.requestId === approval.requestId ? previous : null; // approved anew: start afresh
      const now = this.now();
      const a = assess({ request, image: approval.image, digest: approval.digest, baseline, current, policy: this.s.policy, grace: this.s.monitor.grace, previous: prev, accepted: prev?.accepted ?? [], now });
      const at = now.toISOString();
      const changed = (prev?.state ?? 'ok') !== a.state;
      const next: HealthRecord = {
        team: approval.team, image: approval.image, digest: approval.digest, requestId: approval.requestId,
        tags: approval.tags, platforms: approval.platforms ?? [], state: a.state, since: changed || !prev ? at : prev.since, evaluatedAt: at, maxSeverity: a.maxSeverity,
        blocking: a.blocking, diff: a.diff, ...(a.deadline ? { deadline: a.deadline } : {}),
        ...(a.state === 'at_risk' && prev?.review ? { review: prev.review } : {}), ...(prev?.accepted?.length ? { accepted: prev.accepted } : {}), version: 0,
      };
      const event = this.transition(prev, next);
      if (await this.store.save(next, previous?.version ?? 0, event ? [outboxOf(event, at)] : [])) {
        if (event) await this.d.events.publish({ ...event, recorded: true });
        return { ...next, version: (previous?.version ?? 0) + 1 };
      }
    }
    this.d.logger.warn({ 'event.action': 'approval.health', approval: approvalKeyString(key) }, 'approval health not saved: too many concurrent evaluations; the next sweep retries');
    return this.store.get(key);
  }

  /** The event of a move from `prev` to `next`, if it is one (a first `ok` record is not). */
  private transition(prev: HealthRecord | null, next: HealthRecord): MonitorEvent | null {
    const from = prev?.state ?? 'ok';
    const target = `approval/${next.team}/${next.digest}`;
    if (next.state === 'at_risk') {
      if (from === 'at_risk' && sameRisks(prev?.blocking ?? [], next.blocking)) return null;
      return { type: 'approval.at_risk', actor: SYSTEM_ACTOR, target, details: healthDetails(next, from) };
    }
    if (from === 'at_risk') return { type: 'approval.ok', actor: SYSTEM_ACTOR, target, details: { ...healthDetails(next, from), resolved: (prev?.blocking ?? []).map((b) => b.id) } };
    return null;
  }

  /** Re-evaluates every approval of `digest` in `team` (a `findings.updated` event, a new approval). */
  async evaluateDigest(team: string, digest: string): Promise<HealthRecord[]> {
    const approvals = await this.d.approvals.ofDigest(team, digest);
    const out: HealthRecord[] = [];
    for (const a of approvals) {
      const r = await this.evaluate(a);
      if (r) out.push(r);
    }
    return out;
  }

  /**
   * Marks the approvals of a revocation `revoked` (the revocation service already removed them
   * from the ledger and recorded `approval.revoked`; this record keeps the story for the
   * snapshots and the console).
   */
  async markRevoked(team: string, digest: string, images: readonly string[], by: string, reason: string): Promise<void> {
    for (const image of images) {
      const key = { team, image, digest };
      for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt++) {
        const prev = await this.store.get(key);
        if (!prev || prev.state === 'revoked') return;
        const at = this.now().toISOString();
        const next: HealthRecord = { ...prev, state: 'revoked', since: at, evaluatedAt: at, revocation: { at, by, reason }, review: undefined, version: 0 };
        // The tags' revoked digest is written by the revocation's own script, with the ledger
        // change (../store/redis-revocations.ts): written here, after the announcement, a lookup
        // by tag in between answered a plain NOT_APPROVED.
        if (await this.store.save(next, prev.version, [])) break;
      }
    }
  }

  /** The digest last revoked under `tag` in the scope (CI's tag lookup then says REVOKED), or null. */
  revokedDigestOfTag(scope: { team: string; image: string; platforms: readonly string[] }, tag: string): Promise<string | null> {
    return this.store.revokedTag(scope, tag);
  }

  /** Health of these approvals (no record yet: not evaluated, shown as `ok`). */
  async of(approvals: ReadonlyArray<Pick<Approval, 'team' | 'image' | 'digest'>>): Promise<Array<HealthRecord | null>> {
    return this.store.getMany(approvals);
  }

  /** The bus subscriber: findings changed, an approval made, an approval revoked. */
  subscriber(): (event: MonitorEvent) => Promise<void> {
    return async (event) => {
      const d = event.details;
      const team = typeof d.team === 'string' ? d.team : undefined;
      const digest = typeof d.digest === 'string' ? d.digest : undefined;
      if (!digest) return;
      if (event.type === 'findings.updated' && !team) {
        // Findings of a digest without a team (a scanner-wide rescan): every team's approvals of it.
        for (const a of (await this.d.all()).filter((x) => x.digest === digest)) await this.evaluate(a);
        return;
      }
      if (!team) return;
      if (event.type === 'findings.updated' || (event.type === 'request.status_changed' && d.to === 'approved')) {
        await this.evaluateDigest(team, digest);
      } else if (event.type === 'approval.revoked') {
        const images = Array.isArray(d.images) ? d.images.filter((x): x is string => typeof x === 'string') : [];
        await this.markRevoked(team, digest, images, event.actor, typeof d.reason === 'string' ? d.reason : '');
      }
    };
  }

  get settings(): HealthSettings {
    return this.s;
  }

  get deps(): HealthDeps {
    return this.d;
  }

  get records(): HealthStore {
    return this.store;
  }
}
