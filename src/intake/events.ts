/**
 * The in-process domain event bus. Intake services publish what happened; subscribers (the
 * audit log, later webhooks and metrics) are attached in main.ts. Publishing awaits every
 * subscriber so that, when a service call returns, its events are recorded. Decisions publish
 * with `required`: when the audit log cannot record one, the call fails with 503 (decided in
 * issue 4's review: approvals must not go unaudited); other events are only logged as failed,
 * since undoing a pipeline step because of a logging fault would do more harm.
 * `findings.updated` is published with `required` too, and approval health is critical for it
 * (../monitor/wiring.ts): its writer keeps the event owed in its outbox until the re-evaluation
 * it exists for has happened, so a failed one is retried rather than lost.
 */
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import type { OutboxRecord } from '../store/types';

/** Something that happened in the intake domain. */
export interface DomainEvent {
  /** `request.created`, `request.status_changed`, `request.decided`, `approval.revoked`, … */
  type: string;
  /** Principal name, or `system` for the pipeline. */
  actor: string;
  /** `request/<id>` or `approval/<team>/<digest>`. */
  target: string;
  /** Non-secret facts about the event (status, digest, team, reason). */
  details: Record<string, unknown>;
  /**
   * True when the store already wrote this event's audit record to the outbox in the same
   * atomic step as the change (see store OutboxRecord): the audit subscriber then only drains
   * the outbox and never appends a second copy.
   */
  recorded?: boolean;
}

/** The outbox record of an event that happened at `at` (the store commits it with the change). */
export function outboxRecord(event: DomainEvent, at: string): OutboxRecord {
  return { actor: event.actor, action: event.type, target: event.target, details: event.details, at };
}

/**
 * A subscriber. One marked `critical` (the audit log) must record every event published with
 * `required`, one with `criticalFor` only the events of those types: if it fails, publishing
 * fails. `role` names it in that error (what failed, for the operator reading it).
 */
export type EventHandler = ((event: DomainEvent) => Promise<void> | void) & {
  critical?: boolean;
  criticalFor?: readonly string[];
  role?: string;
};

/** Whether `h` must handle `event` for a `required` publish to succeed. */
function criticalTo(h: EventHandler, event: DomainEvent): boolean {
  return h.critical === true || (h.criticalFor?.includes(event.type) ?? false);
}

export interface PublishOptions {
  /**
   * The event must reach every subscriber critical to it (decisions: approvals, rejections,
   * waivers, revocations must not go unaudited; `findings.updated` must also be re-evaluated
   * by approval health). @defaultValue false
   */
  required?: boolean;
}

export class EventBus {
  private readonly handlers: EventHandler[] = [];

  constructor(private readonly logger?: Logger) {}

  subscribe(handler: EventHandler): void {
    this.handlers.push(handler);
  }

  /**
   * Delivers to every subscriber; a failing subscriber is logged and does not stop the others.
   * @throws AppError DEPENDENCY_UNAVAILABLE (503) when `required` and a subscriber critical to
   * the event failed; its message names the audit log when that failed, else the subscriber's role.
   */
  async publish(event: DomainEvent, options: PublishOptions = {}): Promise<void> {
    let auditFailure: unknown;
    const failed: Array<{ role: string; err: unknown }> = [];
    await Promise.all(this.handlers.map(async (h) => {
      try {
        await h(event);
      } catch (err) {
        this.logger?.error({ error: err, 'event.action': event.type, 'event.outcome': 'failure' }, 'event subscriber failed');
        if (h.critical) auditFailure = err;
        else if (criticalTo(h, event)) failed.push({ role: h.role ?? 'a subscriber required for it', err });
      }
    }));
    if (!options.required) return;
    if (auditFailure !== undefined) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `the audit log could not record ${event.type} of ${event.target}`, { cause: auditFailure, temporary: true });
    }
    if (failed.length > 0) {
      const roles = [...new Set(failed.map((f) => f.role))].join(', ');
      throw new AppError('DEPENDENCY_UNAVAILABLE', `${roles} failed on ${event.type} of ${event.target}`, { cause: failed[0]!.err, temporary: true });
    }
  }
}

export const SYSTEM_ACTOR = 'system';
