/**
 * Audit as a subscriber to domain events (STYLE #7): the intake services publish what
 * happened on their event bus, and this turns each event into one audit entry. The event
 * shape is declared here structurally, so audit does not import intake (no folder cycle).
 */
import type { Logger } from '../lib/logger';
import type { AuditLog } from './log';

/** The part of a domain event the audit log records. */
export interface AuditableEvent {
  /** e.g. `request.created`, `request.status_changed`, `approval.revoked`. */
  type: string;
  actor: string;
  target: string;
  details: Record<string, unknown>;
  /** The store already wrote this event's record to the outbox, in the script of the change. */
  recorded?: boolean;
}

/**
 * Returns the handler to subscribe, marked critical. An append that fails is logged at error
 * with ECS `event.outcome: failure` and the whole event (so that ELK holds what the chain
 * misses and it can be re-entered), then thrown: the event bus decides whether the publisher
 * fails (decisions) or carries on (pipeline steps, whose state change must not be undone by a
 * logging fault).
 *
 * A `recorded` event is only drained, never appended again. A failed drain is logged, not
 * thrown: the record committed with the change and stays in the outbox until a periodic drain
 * chains it, so failing the caller would report as undone a change that happened.
 */
export function auditSubscriber(log: AuditLog, logger: Logger): ((event: AuditableEvent) => Promise<void>) & { critical: true } {
  const handler = async (event: AuditableEvent): Promise<void> => {
    if (event.recorded) {
      await log.drain().catch((err: unknown) => {
        logger.warn({ error: err, 'event.action': event.type, 'portcullis.audit.target': event.target }, `audit drain after ${event.type} failed; the record waits in the outbox`);
      });
      return;
    }
    try {
      await log.append({ actor: event.actor, action: event.type, target: event.target, details: event.details });
    } catch (err) {
      logger.error({
        error: err, 'event.kind': 'event', 'event.action': event.type, 'event.outcome': 'failure',
        'user.name': event.actor, 'portcullis.audit.target': event.target, 'portcullis.audit.details': event.details,
      }, `audit append failed: ${event.type} ${event.target}`);
      throw err;
    }
  };
  return Object.assign(handler, { critical: true as const });
}
