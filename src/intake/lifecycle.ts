/**
 * State changes of a request, in one place: a transition is one atomic store operation (a
 * Lua script checking version and state) that happens only from the expected states, so a
 * retried or duplicated job, or the loser of a race, cannot move a request twice. It is
 * appended to the request's history, its audit records are committed with it (the outbox),
 * it is published as a domain event after the commit, and a terminal state releases the
 * request's dedup claims.
 */
import { isTerminal, platformKey, requestDigest, type IntakeRequest, type RequestStatus, type RequestStore } from '../store/types';
import { outboxRecord, SYSTEM_ACTOR, type DomainEvent, type EventBus } from './events';
import { sourceName } from './paths';
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
  /** The history and event note; a function gets the record about to be saved (its status set). */
  note?: string | ((next: IntakeRequest) => string);
  /** Other fields to set in the same save (pure: it may run again after a concurrent save). */
  patch?: (r: IntakeRequest) => Partial<IntakeRequest>;
  /**
   * Further events of the same change (a rejection, a revocation): their audit records are
   * committed with the move, and they are published after it, only if it moved.
   */
  events?: (saved: IntakeRequest) => DomainEvent[];
  /** The request as just read by the caller: saves the store a read (see TransitionSaveOptions.known). */
  known?: IntakeRequest;
}

/**
 * Dedup keys a request may hold: its reference, and once resolved, its digest, per team, image
 * name and platform set (a `linux/arm64` request and a whole-image one are different runs).
 */
export function refClaimKey(team: string, image: string, platforms: readonly string[]): string {
  return `ref:${team}:${platformKey(platforms)}:${image}`;
}

export function digestClaimKey(team: string, name: string, platforms: readonly string[], digest: string): string {
  return `digest:${team}:${platformKey(platforms)}:${name}@${digest}`;
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

/** The event of a move from `previous` to the saved record's status. */
export function statusChanged(saved: IntakeRequest, previous: RequestStatus, by: string, note?: string): DomainEvent {
  return {
    type: 'request.status_changed', actor: by, target: `request/${saved.id}`,
    details: {
      team: saved.team, from: previous, to: saved.status, ...digestDetails(saved),
      ...(note ? { note } : {}), ...(saved.error && saved.status === 'failed' ? { error: saved.error } : {}),
    },
  };
}

export class Lifecycle {
  constructor(private readonly requests: RequestStore, private readonly events: EventBus) {}

  /**
   * Moves the request from one of `from` to `to`, in one atomic store operation that also
   * commits the audit records of the change. Returns the request and whether this call moved
   * it (false when it was not in `from`: a duplicated job, or a race another caller won), and
   * the state it moved from. Events are published only when it moved, after the commit.
   */
  async transition(id: string, from: readonly RequestStatus[], to: RequestStatus | ((current: IntakeRequest) => RequestStatus),
    options: TransitionOptions = {}): Promise<{ request: IntakeRequest; moved: boolean; from?: RequestStatus }> {
    const by = options.by ?? SYSTEM_ACTOR;
    const noteOf = (next: IntakeRequest) => (typeof options.note === 'function' ? options.note(next) : options.note);
    const eventsOf = (saved: IntakeRequest, previous: RequestStatus): DomainEvent[] => [
      statusChanged(saved, previous, by, noteOf(saved)), ...(options.events?.(saved) ?? []),
    ];
    // `to`, `patch` and `note` are all given the same current record of each attempt.
    const statusOf = (r: IntakeRequest) => (typeof to === 'function' ? to(r) : to);
    const result = await this.requests.transition(id, from, statusOf, (r) => {
      const at = new Date().toISOString();
      const status = statusOf(r);
      const next = { ...r, ...(options.patch ? options.patch(r) : {}), updatedAt: at };
      const note = noteOf({ ...next, status });
      return { ...next, history: [...r.history, { status, at, by, ...(note ? { note } : {}) }] };
    }, { records: (saved, current) => eventsOf(saved, current.status).map((e) => outboxRecord(e, saved.updatedAt)), ...(options.known ? { known: options.known } : {}) });
    if (result.moved && result.from) {
      await this.publishRecorded(eventsOf(result.request, result.from));
      if (isTerminal(result.request.status)) await this.releaseClaims(result.request);
    }
    return result;
  }

  /** Publishes events whose audit records the store already committed with their change. */
  async publishRecorded(events: readonly DomainEvent[]): Promise<void> {
    for (const e of events) await this.events.publish({ ...e, recorded: true });
  }

  async releaseClaims(r: IntakeRequest): Promise<void> {
    await this.requests.release(refClaimKey(r.team, r.image, r.platforms), r.id);
    if (r.source.digest) await this.requests.release(digestClaimKey(r.team, sourceName(r.source), r.platforms, r.source.digest), r.id);
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
