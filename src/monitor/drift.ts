/**
 * Upstream drift (issue 13.4). Every approved tag is resolved upstream through its reverse
 * proxy with a manifest HEAD (the registry client's resolve: no blob is read), spread over
 * `monitor.driftEvery`: the job runs SLICES times per period and each run takes the approvals
 * whose key hashes to that slice. When the tag now names another digest than the approved one,
 * `approval.drift` is raised once per new digest (old and new digests), and with
 * `monitor.autoRequest` a request is filed for the team, linked to the approval it would
 * replace (`replaces`); once that request is scanned, `replaces.changes` lists the findings
 * fixed and added compared with the approved request.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { parseReference, type ImageRef } from '../registry';
import { platformKey, type Approval, type ApprovalStore, type IntakeRequest, type ReplacedApproval, type RequestStore } from '../store/types';
import { findingsDiff } from './assess';
import type { RedisDriftHistory } from './drift-history';
import { approvedFindings } from './health';
import { SYSTEM_ACTOR, type EventPublisher, type MonitorEvent } from './ports';

/** Runs per `driftEvery`: each approved tag is resolved once per period, a twelfth at a time. */
export const DRIFT_SLICES = 12;

/** Files a request for the team as the monitor (the intake RequestService, called by main.ts's wiring). */
export type RequestFiler = (input: { team: string; image: string; platforms: string[]; justification: string }) => Promise<{ id: string; deduplicated?: string }>;

export interface DriftDeps {
  redis: Redis;
  prefix: string;
  approvals: Pick<ApprovalStore, 'digestForTag'>;
  requests: Pick<RequestStore, 'get' | 'update'>;
  all: () => Promise<Approval[]>;
  /** The upstream digest of a reference, by a manifest HEAD through the reverse proxy. */
  resolve: (ref: ImageRef) => Promise<string>;
  events: EventPublisher;
  /** Where each move is kept for the console and `GET /v1/drift` (./drift-history.ts). */
  history?: Pick<RedisDriftHistory, 'record' | 'link' | 'settled'>;
  file?: RequestFiler;
  autoRequest: boolean;
  now: () => Date;
  driftEveryMs: number;
  logger: { warn(obj: object, msg: string): void };
}

export interface DriftFinding {
  team: string;
  image: string;
  tag: string;
  fromDigest: string;
  toDigest: string;
  requestId?: string;
}

function sliceOf(a: Pick<Approval, 'team' | 'image' | 'digest'>): number {
  return createHash('sha256').update(`${a.team}|${a.image}|${a.digest}`).digest().readUInt32BE(0) % DRIFT_SLICES;
}

export class DriftService {
  constructor(private readonly d: DriftDeps) {}

  private seenKey(a: Approval, tag: string): string {
    return `${this.d.prefix}:drift:${a.team}|${a.image}|${platformKey(a.platforms)}|${tag}`;
  }

  /** The slice due now (the job's runs walk the slices in turn over each period). */
  currentSlice(): number {
    return Math.floor(this.d.now().getTime() / (this.d.driftEveryMs / DRIFT_SLICES)) % DRIFT_SLICES;
  }

  /** Checks every approved tag (`slice` undefined) or one slice of them; returns the drifts raised now. */
  async run(slice?: number): Promise<DriftFinding[]> {
    const approvals = (await this.d.all()).filter((a) => !a.pending && a.tags.length > 0 && (slice === undefined || sliceOf(a) === slice));
    const out: DriftFinding[] = [];
    for (const a of approvals) {
      for (const tag of a.tags) {
        try {
          const found = await this.check(a, tag);
          if (found) out.push(found);
        } catch (err) {
          this.d.logger.warn({ error: err, 'event.action': 'approval.drift', image: a.image, tag }, 'could not resolve an approved tag upstream; the next run retries');
        }
      }
    }
    return out;
  }

  private async check(a: Approval, tag: string): Promise<DriftFinding | null> {
    const scope = { team: a.team, image: a.image, platforms: a.platforms ?? [] };
    // A newer approval of the same tag owns it now: this one is not the tag's approval any more.
    if ((await this.d.approvals.digestForTag(scope, tag)) !== a.digest) return null;
    const request = await this.d.requests.get(a.requestId);
    const fromDigest = request?.source.digest ?? a.sourceDigest ?? a.digest;
    const toDigest = await this.d.resolve(parseReference(`${a.image}:${tag}`));
    const key = this.seenKey(a, tag);
    if (toDigest === fromDigest) {
      await this.d.redis.del(key);
      await this.d.history?.settled({ team: a.team, image: a.image, platforms: a.platforms ?? [], tag });
      return null;
    }
    // Kept before the event is raised: a crash in between still leaves the entry (recording is idempotent).
    const recorded = await this.d.history?.record({
      team: a.team, image: a.image, tag, platforms: a.platforms ?? [], fromDigest, toDigest, digest: a.digest,
      approvedRequestId: a.requestId, at: this.d.now().toISOString(),
    });
    // Raised once per new upstream digest, however many runs see it (several workers agree).
    const previous = await this.d.redis.set(key, toDigest, 'GET');
    if (previous === toDigest) return null;
    const found: DriftFinding = { team: a.team, image: a.image, tag, fromDigest, toDigest };
    if (this.d.autoRequest && this.d.file) found.requestId = await this.fileRequest(a, tag, fromDigest, toDigest);
    if (found.requestId && recorded) await this.d.history?.link(a.team, recorded.id, found.requestId);
    const event: MonitorEvent = {
      type: 'approval.drift', actor: SYSTEM_ACTOR, target: `approval/${a.team}/${a.digest}`,
      details: {
        team: a.team, image: a.image, tag, digest: a.digest, fromDigest, toDigest, platforms: a.platforms ?? [],
        approvedRequestId: a.requestId, ...(found.requestId ? { requestId: found.requestId } : {}),
      },
    };
    await this.d.events.publish(event);
    return found;
  }

  private async fileRequest(a: Approval, tag: string, fromDigest: string, toDigest: string): Promise<string | undefined> {
    const file = this.d.file as RequestFiler;
    const created = await file({
      team: a.team, image: `${a.image}:${tag}`, platforms: a.platforms ?? [],
      justification: `upstream tag ${tag} moved from ${fromDigest} to ${toDigest}; replaces the approval of ${a.digest} (request ${a.requestId})`,
    });
    if (created.deduplicated === 'approved') return created.id;
    const replaces: ReplacedApproval = { team: a.team, image: a.image, digest: a.digest, requestId: a.requestId, tag, fromDigest, toDigest };
    await this.d.requests.update(created.id, (r) => (r.replaces ? null : { ...r, replaces }));
    return created.id;
  }

  /**
   * The bus subscriber: when a request that replaces an approval is scanned, records which
   * findings it fixes and which it adds compared with the approved request.
   */
  subscriber(): (event: MonitorEvent) => Promise<void> {
    return async (event) => {
      if (event.type !== 'request.status_changed' || !['awaiting_approval', 'approved', 'failed'].includes(String(event.details.to))) return;
      const id = event.target.replace(/^request\//, '');
      const r = await this.d.requests.get(id);
      if (!r?.replaces || r.replaces.changes || r.scans.length === 0) return;
      const approved = await this.d.requests.get(r.replaces.requestId);
      if (!approved) return;
      const changes = compare(approvedFindings(approved), r, this.d.now());
      await this.d.requests.update(id, (cur) => (cur.replaces && !cur.replaces.changes ? { ...cur, replaces: { ...cur.replaces, changes } } : null));
    };
  }
}

function compare(approved: ReturnType<typeof approvedFindings>, next: IntakeRequest, now: Date): NonNullable<ReplacedApproval['changes']> {
  const diff = findingsDiff(approved, approvedFindings(next));
  const brief = (f: { id: string; severity: string; package?: string }) => ({ id: f.id, severity: f.severity, ...(f.package ? { package: f.package } : {}) });
  return { fixed: diff.removed.map(brief), added: diff.added.map(brief), fixedTotal: diff.removedTotal, addedTotal: diff.addedTotal, at: now.toISOString() };
}
