/**
 * State changes of a request, in one place: a transition is a compare-and-set on the stored
 * request (it happens only from the expected states, so a retried or duplicated job cannot
 * move a request twice), it is appended to the request's history, published as a domain
 * event, and a terminal state releases the request's dedup claims.
 */
import { isTerminal, requestDigest, type IntakeRequest, type RequestStatus, type RequestStore } from '../store/types';
import { SYSTEM_ACTOR, type EventBus } from './events';
import type { PipelineStep } from './ports';

/** The job that continues a request in each state of the pipeline (none: waiting on a person, or ended). */
const NEXT_STEP: Partial<Record<RequestStatus, PipelineStep>> = {
  requested: 'resolve', resolving: 'resolve', staging: 'stage', scanning: 'scan', promoting: 'promote',
};

/** States in which a request must have a job queued or running, or it is stuck. */
export const PIPELINE_STATES = Object.keys(NEXT_STEP) as RequestStatus[];

export function nextStep(status: RequestStatus): PipelineStep | undefined {
  return NEXT_STEP[status];
}

export interface TransitionOptions {
  /** Principal name; `system` for the pipeline. */
  by?: string;
  note?: string;
  /** Other fields to set in the same save. */
  patch?: (r: IntakeRequest) => Partial<IntakeRequest>;
}

/** Dedup keys a request may hold: its reference, and once resolved, its digest (per team). */
export function refClaimKey(team: string, image: string): string {
  return `ref:${team}:${image}`;
}

export function digestClaimKey(team: string, digest: string): string {
  return `digest:${team}:${digest}`;
}

/**
 * The digest fields of a request's events: `digest` (the request's identity), and
 * `sourceDigest`, the upstream's, when staging gave the request a digest of its own (an engine
 * mover recompressed it, or a platform was selected; see IntakeRequest.stagedDigest), so that
 * every audit entry about such a request ties the two together.
 */
export function digestDetails(r: Pick<IntakeRequest, 'source' | 'stagedDigest'>): { digest: string | null; sourceDigest?: string | null } {
  return {
    digest: requestDigest(r) ?? null,
    ...(r.stagedDigest && r.stagedDigest !== r.source.digest ? { sourceDigest: r.source.digest ?? null } : {}),
  };
}

export class Lifecycle {
  constructor(private readonly requests: RequestStore, private readonly events: EventBus) {}

  /**
   * Moves the request from one of `from` to `to`. Returns the request and whether this call
   * moved it (false when it was not in `from`, e.g. a duplicated job).
   */
  async transition(id: string, from: readonly RequestStatus[], to: RequestStatus, options: TransitionOptions = {}): Promise<{ request: IntakeRequest; moved: boolean }> {
    const by = options.by ?? SYSTEM_ACTOR;
    let moved = false;
    const request = await this.requests.update(id, (r) => {
      if (!from.includes(r.status)) return null;
      moved = true;
      const at = new Date().toISOString();
      return {
        ...r,
        ...(options.patch ? options.patch(r) : {}),
        status: to,
        updatedAt: at,
        history: [...r.history, { status: to, at, by, ...(options.note ? { note: options.note } : {}) }],
      };
    });
    if (moved) {
      await this.events.publish({
        type: 'request.status_changed', actor: by, target: `request/${id}`,
        details: {
          team: request.team, from: request.history.at(-2)?.status ?? null, to, ...digestDetails(request),
          ...(options.note ? { note: options.note } : {}), ...(request.error && to === 'failed' ? { error: request.error } : {}),
        },
      });
      if (isTerminal(to)) await this.releaseClaims(request);
    }
    return { request, moved };
  }

  async releaseClaims(r: IntakeRequest): Promise<void> {
    await this.requests.release(refClaimKey(r.team, r.image), r.id);
    if (r.source.digest) await this.requests.release(digestClaimKey(r.team, r.source.digest), r.id);
  }

  /**
   * Claims `key` for the request. A claim left by a request that has since ended (a crash
   * between its last save and its release) is taken over. Returns the live holder, or null.
   */
  async claim(key: string, id: string): Promise<IntakeRequest | null> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const holderId = await this.requests.claim(key, id);
      if (!holderId) return null;
      const holder = await this.requests.get(holderId);
      if (holder && !isTerminal(holder.status)) return holder;
      await this.requests.release(key, holderId);
    }
    return null;
  }
}
