/**
 * Domain events as CloudEvents 1.0, structured JSON mode (the `application/cloudevents+json`
 * body of the HTTP binding, sent here as `application/json` with the same members): `type` is
 * the domain event's type under `io.portcullis.` (`io.portcullis.approval.revoked`), `subject`
 * the image digest when the event is about one (receivers route and de-duplicate on it), else
 * the target; `data` carries the actor, the target and the event's details.
 */
import { randomUUID } from 'node:crypto';

/** The part of a domain event that goes out (declared here so that events does not import intake). */
export interface OutboundEvent {
  type: string;
  actor: string;
  target: string;
  details: Record<string, unknown>;
}

export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: { actor: string; target: string } & Record<string, unknown>;
}

export const CLOUDEVENT_TYPE_PREFIX = 'io.portcullis.';

export function toCloudEvent(event: OutboundEvent, source: string, now: Date = new Date()): CloudEvent {
  const digest = typeof event.details.digest === 'string' ? event.details.digest : undefined;
  return {
    specversion: '1.0',
    id: randomUUID(),
    source,
    type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
    subject: digest ?? event.target,
    time: now.toISOString(),
    datacontenttype: 'application/json',
    data: { ...event.details, actor: event.actor, target: event.target },
  };
}

/**
 * Whether an endpoint subscribed to `type`: patterns are exact types (`approval.revoked`), a
 * prefix ending in `.*` (`approval.*`), or `*` for everything; `drift` is an alias of `approval.drift`.
 */
export function subscribed(patterns: readonly string[], type: string): boolean {
  return patterns.some((raw) => {
    const p = EVENT_ALIASES[raw] ?? raw;
    return p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1)));
  });
}

/** Short names a subscription may use for an event type (issue 15 calls `approval.drift` "a `drift` event"). */
export const EVENT_ALIASES: Readonly<Record<string, string>> = { drift: 'approval.drift' };
