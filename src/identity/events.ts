/**
 * What identity tells the rest of the service: robot lifecycle, expiry warnings, principals
 * disabled for inactivity. A narrow port that the intake EventBus satisfies (main.ts passes it),
 * so identity imports no other module and the audit subscriber records these events too.
 */
export interface IdentityEvent {
  /** `robot.created`, `robot.rotated`, `robot.disabled`, `robot.deleted`, `robot.expiring`, `robot.expired`, `principal.disabled_inactive`… */
  type: string;
  /** Name of the principal who acted, or `system` for the hygiene job. */
  actor: string;
  /** `robot/<id>` or `principal/<subject>`. */
  target: string;
  /** Non-secret facts: never a token or its hash. */
  details: Record<string, unknown>;
  /** The store already wrote the audit record in the same script as the change (the audit subscriber then only drains). */
  recorded?: boolean;
}

export interface IdentityEvents {
  /** With `required`, throws when the audit log could not record the event (the change is then reported as failed). */
  publish(event: IdentityEvent, options?: { required?: boolean }): Promise<void>;
}

export const SYSTEM = 'system';

/**
 * The audit outbox record of a change, `{actor, action, target, details, at}` as the BOARD's audit
 * outbox contract defines it: the stores XADD it in the same Lua script as the change.
 */
export function auditRecord(event: IdentityEvent, at: Date): string {
  return JSON.stringify({ actor: event.actor, action: event.type, target: event.target, details: event.details, at: at.toISOString() });
}

/** The outbox stream of the audit log (BOARD contract: `${prefix}:audit:outbox`, field `record`). */
export const auditOutboxKey = (prefix: string): string => `${prefix}:audit:outbox`;
