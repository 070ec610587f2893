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
}

export interface IdentityEvents {
  /** With `required`, throws when the audit log could not record the event (the change is then reported as failed). */
  publish(event: IdentityEvent, options?: { required?: boolean }): Promise<void>;
}

export const SYSTEM = 'system';
