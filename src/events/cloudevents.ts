/**
 * Domain events as CloudEvents 1.0, structured JSON mode (the HTTP binding's
 * `application/cloudevents+json` body, sent with that content type by ./deliver.ts; `data` is
 * JSON, `datacontenttype: application/json`): `type` is
 * the domain event's type under `io.portcullis.` (`io.portcullis.approval.revoked`), `subject`
 * the image digest when the event is about one (receivers route and de-duplicate on it), else
 * the target; `data` carries the actor, the target and the event's details.
 *
 * `id` is random, except for an event whose details carry a stable `eventId` (findings.updated,
 * from its outbox record: ../monitor/findings-outbox.ts): an event the outbox publishes again
 * after a crash gets the same id, as CloudEvents allows for a re-sent event ("consumers MAY
 * assume that events with identical source and id are duplicates"). The webhook delivery's job
 * id and `webhook-id` are this id, so the repeat is not queued while the first delivery is, and
 * a receiver that already had it drops it as Standard Webhooks asks.
 */
import { createHash, randomUUID } from 'node:crypto';

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
    id: typeof event.details.eventId === 'string' ? stableId(source, event.type, event.details.eventId) : randomUUID(),
    source,
    type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
    subject: digest ?? event.target,
    time: now.toISOString(),
    datacontenttype: 'application/json',
    data: { ...event.details, actor: event.actor, target: event.target },
  };
}

/**
 * A UUID (RFC 9562 version 8, name-based on SHA-256) of the source, the type and the event's own
 * id: the same event gives the same id, at any replica, and the shape is a UUID like the others
 * (BullMQ job ids refuse `:`, which eventIds contain).
 */
function stableId(source: string, type: string, eventId: string): string {
  const h = createHash('sha256').update(`${source}\n${type}\n${eventId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8
  h[8] = (h[8] & 0x3f) | 0x80; // variant 10
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
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
