/**
 * The in-process domain event bus. Intake services publish what happened; subscribers (the
 * audit log, later webhooks and metrics) are attached in main.ts. Publishing awaits every
 * subscriber so that, when a service call returns, its events are recorded. Decisions publish
 * with `required`: when the audit log cannot record one, the call fails with 503 (decided in
 * issue 4's review: approvals must not go unaudited); other events are only logged as failed,
 * since undoing a pipeline step because of a logging fault would do more harm.
 */
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';

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
  /** True when the store already wrote this event's audit record to the outbox (the audit subscriber then only drains). */
  recorded?: boolean;
}

/**
 * A subscriber. One marked `critical` (the audit log) must record an event published with
 * `required`: if it fails, publishing fails.
 */
export type EventHandler = ((event: DomainEvent) => Promise<void> | void) & { critical?: boolean };

export interface PublishOptions {
  /**
   * The event must reach every critical subscriber (decisions: approvals, rejections,
   * waivers, revocations must not go unaudited). @defaultValue false
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
   * @throws AppError DEPENDENCY_UNAVAILABLE (503) when `required` and a critical subscriber failed.
   */
  async publish(event: DomainEvent, options: PublishOptions = {}): Promise<void> {
    let criticalFailure: unknown;
    await Promise.all(this.handlers.map(async (h) => {
      try {
        await h(event);
      } catch (err) {
        this.logger?.error({ error: err, 'event.action': event.type, 'event.outcome': 'failure' }, 'event subscriber failed');
        if (h.critical) criticalFailure = err;
      }
    }));
    if (options.required && criticalFailure !== undefined) {
      throw new AppError('DEPENDENCY_UNAVAILABLE', `the audit log could not record ${event.type} of ${event.target}`, { cause: criticalFailure, temporary: true });
    }
  }
}

export const SYSTEM_ACTOR = 'system';
