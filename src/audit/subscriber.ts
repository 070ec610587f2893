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
}

/**
 * Returns the handler to subscribe. An append that fails is logged as an error, never
 * thrown back into the pipeline: the state change already happened and must not be undone
 * by a logging fault.
 */
export function auditSubscriber(log: AuditLog, logger: Logger): (event: AuditableEvent) => Promise<void> {
  return async (event) => {
    try {
      await log.append({ actor: event.actor, action: event.type, target: event.target, details: event.details });
    } catch (err) {
      logger.error({ error: err, 'event.action': event.type, 'portcullis.audit.target': event.target }, 'audit append failed');
    }
  };
}
