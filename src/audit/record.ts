/**
 * What the audit log records, as it travels through the outbox (`{prefix}:audit:outbox`, one
 * field `record`): JSON `{actor, action, target, details, at}`. Any Lua script may XADD one in
 * the same script as the state change it records (see BOARD.md, "Audit outbox"), so the
 * drainer reads it as untrusted input and validates it.
 */
import { z } from 'zod';

/** What a subscriber records; seq and hashes are added when the record is chained. */
export interface AuditRecord {
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
  /** ISO 8601 time of the change. @defaultValue the time of the append */
  at?: string;
}

/** A record as the outbox holds it: every field present. */
export type OutboxRecord = Required<AuditRecord>;

const outboxRecordSchema = z.object({
  actor: z.string().min(1),
  action: z.string().min(1),
  target: z.string(),
  details: z.record(z.string(), z.unknown()).default({}),
  at: z.iso.datetime({ offset: true }),
});

export function toOutboxJson(record: AuditRecord, now = new Date()): string {
  const full: OutboxRecord = { actor: record.actor, action: record.action, target: record.target, details: record.details ?? {}, at: record.at ?? now.toISOString() };
  return JSON.stringify(full);
}

/** Longest part of a malformed record kept in the entry that replaces it. */
const RAW_KEPT = 4096;

/**
 * The record an outbox entry holds. A malformed one is not dropped (the chain would silently
 * miss it) and must not block the outbox for ever: it is chained as `audit.malformed_record`
 * with its raw text (bounded), so the gap is visible in the log.
 */
export function parseOutboxRecord(id: string, fields: string[], now = new Date()): OutboxRecord {
  const i = fields.indexOf('record');
  const raw = i >= 0 && i % 2 === 0 ? fields[i + 1] ?? '' : '';
  let problem: string;
  try {
    const parsed = outboxRecordSchema.safeParse(JSON.parse(raw));
    if (parsed.success) return parsed.data;
    problem = parsed.error.issues.map((x) => `${x.path.join('.') || 'record'}: ${x.message}`).join('; ');
  } catch {
    problem = i >= 0 ? 'record is not JSON' : 'entry has no record field';
  }
  return {
    actor: 'system', action: 'audit.malformed_record', target: `audit/outbox/${id}`,
    details: { problem, raw: raw.slice(0, RAW_KEPT), truncated: raw.length > RAW_KEPT }, at: now.toISOString(),
  };
}
