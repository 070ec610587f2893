/**
 * The in-process domain event bus. Intake services publish what happened; subscribers (the
 * audit log, later webhooks and metrics) are attached in main.ts. Publishing awaits every
 * subscriber so that, when a service call returns, its events are recorded.
 */
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
}

export type EventHandler = (event: DomainEvent) => Promise<void> | void;

export class EventBus {
  private readonly handlers: EventHandler[] = [];

  constructor(private readonly logger?: Logger) {}

  subscribe(handler: EventHandler): void {
    this.handlers.push(handler);
  }

  /** Delivers to every subscriber; a failing subscriber is logged and does not stop the others. */
  async publish(event: DomainEvent): Promise<void> {
    await Promise.all(this.handlers.map(async (h) => {
      try {
        await h(event);
      } catch (err) {
        this.logger?.error({ error: err, 'event.action': event.type }, 'event subscriber failed');
      }
    }));
  }
}

export const SYSTEM_ACTOR = 'system';
