/**
 * The outbox of `findings.updated` (issue 13): a report whose findings changed is written
 * together with a pending record of the event it owes, in the same script or MULTI as the
 * report (./rematch-state.ts for the re-match, {@link FindingsOutbox.storeReport} for a rescan),
 * so a report and its owed event exist together or not at all. The writer publishes, then
 * settles the record. A writer that died in between leaves the record, and so does one whose
 * publish failed: the event is published `required`, so a health re-evaluation or audit append
 * that failed throws (../intake/events.ts), and that writer's pass or job fails. The record then
 * waits for whichever comes first: the next re-match pass of that scanner ({@link
 * FindingsOutbox.flush} at its start; the builtin scanner's, after its next sync or the retry of
 * the failed one), or the health sweep, a scheduled job every `monitor.sweepEvery` (15 minutes by
 * default), which publishes the records older than {@link FINDINGS_OUTBOX_GRACE_MS}. So an owed
 * event of a Harbor or Clair rescan waits up to about one sweep period: at least once, not at once.
 *
 * One record per scanner and digest (a Redis hash, field `scanner|digest`): a newer report's
 * record replaces an older one still pending, so a digest is never announced out of order by
 * the flush and a digest rewritten many times while nothing publishes owes one event, not a
 * flood. What is published is the event of the newest report; consumers re-read the stored
 * findings (health re-evaluates, ./health.ts), so the newest event says all the older one did.
 * A record is settled only if it is still the one published (compared by its id), never a
 * newer one written meanwhile.
 *
 * Duplicates: a flush racing a live writer may publish its event twice. Health re-evaluation
 * is idempotent (same findings: same state, no transition, no `approval.*` event); the audit
 * log records the second `findings.updated`; a webhook endpoint subscribed to it gets it under
 * the same CloudEvent id and `webhook-id` (derived from the `eventId` in its data:
 * ../events/cloudevents.ts), so a delivery still queued is not queued again and a receiver
 * drops the repeat.
 */
import { createHash, randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../lib/logger';
import type { ScanReport } from '../scanners/types';
import { SCAN_RESULT_TTL_SECONDS, storeKeys } from '../store';
import type { ApprovedDigest } from './approved-digests';
import { publishFindingsUpdated, type FindingsEvents } from './findings-updated';

/**
 * How old a pending record must be before the health sweep publishes it: younger, its writer may
 * still be publishing it (a duplicate is harmless, but needless). The grace is not the delay:
 * the sweep runs every `monitor.sweepEvery` (15 minutes by default), so an owed event is
 * published by the first sweep at least this long after it was written.
 */
export const FINDINGS_OUTBOX_GRACE_MS = 60_000;

const pendingSchema = z.object({
  id: z.string(),
  scanner: z.string(),
  digest: z.string(),
  dbVersion: z.string().optional(),
  approvals: z.array(z.object({ team: z.string(), repository: z.string() })),
  /** Epoch ms it was written. */
  at: z.number(),
});

/** A `findings.updated` owed for one report: the digest's approvals as they were when it was written. */
export type PendingFindings = z.infer<typeof pendingSchema>;

/** The hash of pending records: `scanner|digest` → {@link PendingFindings} JSON. */
export function findingsOutboxKey(prefix: string): string {
  return `${prefix}:monitor:findings-outbox`;
}

export function pendingField(scanner: string, digest: string): string {
  return `${scanner}|${digest}`;
}

/** The record's stored text (what a settle compares with is its id). */
export function pendingText(record: PendingFindings): string {
  return JSON.stringify(record);
}

/** The record owed for a new report of `scanner` at `dbVersion` of `approved`, at `at` (epoch ms). */
export function pendingRecord(approved: ApprovedDigest, scanner: string, dbVersion: string | undefined, at: number): PendingFindings {
  return { id: randomUUID(), scanner, digest: approved.digest, ...(dbVersion !== undefined ? { dbVersion } : {}), approvals: approved.approvals.map(({ team, repository }) => ({ team, repository })), at };
}

/**
 * A report's compare-and-set with the event it owes. KEYS[1] the report, KEYS[2] the outbox;
 * ARGV: the SHA-1 of the stored text the new one was compared with ('' when there was none),
 * the new text, TTL, the outbox field and record owed ('' = none). Written only if the stored
 * text is still that one: a report stored meanwhile is never overwritten unseen (its findings
 * may differ from the ones this write was judged "changed" or "same" against).
 */
export const STORE_IF = `
local s = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if s then return 'other' end
elseif not s or redis.sha1hex(s) ~= ARGV[1] then
  return 'other'
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[4], ARGV[5]) end
return 'done'
`;

// KEYS[1] the outbox; ARGV: field, id. Deleted only if the record there is still that one.
const SETTLE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local ok, r = pcall(cjson.decode, v)
if ok and type(r) == 'table' and r.id ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
`;

type SettlePipeline = { findingsSettle(...a: string[]): void; exec(): Promise<Array<[Error | null, unknown]> | null> };
type StoreIf = { findingsStoreIf(...a: Array<string | Buffer>): Promise<unknown> };

/** A stored report and the SHA-1 of its bytes (what {@link FindingsOutbox.storeReport} compares). */
export interface CurrentReport { report: ScanReport; sha1: string }

export interface FindingsOutboxOptions {
  /** The clock records are stamped with. @defaultValue Date.now */
  now?: () => number;
}

export class FindingsOutbox {
  readonly key: string;
  private readonly scanResult;
  readonly now: () => number;

  constructor(private readonly redis: Redis, prefix: string, options: FindingsOutboxOptions = {}) {
    this.key = findingsOutboxKey(prefix);
    this.scanResult = storeKeys(prefix).scanResult;
    this.now = options.now ?? Date.now;
    if (!('findingsSettle' in redis)) redis.defineCommand('findingsSettle', { numberOfKeys: 1, lua: SETTLE });
    if (!('findingsStoreIf' in redis)) redis.defineCommand('findingsStoreIf', { numberOfKeys: 2, lua: STORE_IF });
  }

  /** The stored report of `scanner` for `digest`, with the SHA-1 of its bytes, or null. */
  async current(scanner: string, digest: string): Promise<CurrentReport | null> {
    const raw = await this.redis.getBuffer(this.scanResult(scanner, digest));
    return raw ? { report: JSON.parse(raw.toString('utf8')) as ScanReport, sha1: createHash('sha1').update(raw).digest('hex') } : null;
  }

  /** The record owed for a new report of `approved` (stamped with this outbox's clock). */
  record(approved: ApprovedDigest, scanner: string, dbVersion: string | undefined): PendingFindings {
    return pendingRecord(approved, scanner, dbVersion, this.now());
  }

  /**
   * Stores `report` as the scan result store does, with the record it owes (if any), in one
   * script, if the stored report is still the one whose SHA-1 is `expected` (null: still none);
   * false when another was stored since it was read (nothing written).
   */
  async storeReport(digest: string, report: ScanReport, pending: PendingFindings | null, expected: string | null): Promise<boolean> {
    const owed = pending ? [pendingField(pending.scanner, pending.digest), pendingText(pending)] : ['', ''];
    const r = await (this.redis as unknown as StoreIf).findingsStoreIf(this.scanResult(report.scanner, digest), this.key, expected ?? '', Buffer.from(JSON.stringify(report), 'utf8'), String(SCAN_RESULT_TTL_SECONDS), ...owed);
    return r === 'done';
  }

  /** Removes each record that is still the one published (one round trip); a newer one written meanwhile stays. */
  async settle(records: readonly PendingFindings[]): Promise<void> {
    if (records.length === 0) return;
    const pipe = this.redis.pipeline() as unknown as SettlePipeline;
    for (const r of records) pipe.findingsSettle(this.key, pendingField(r.scanner, r.digest), r.id);
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }

  /** The record owed for `scanner`'s report of `digest`, or null (none, or unreadable: the sweep drops those). */
  async owedFor(scanner: string, digest: string): Promise<PendingFindings | null> {
    const text = await this.redis.hget(this.key, pendingField(scanner, digest));
    if (text === null) return null;
    try {
      const parsed = pendingSchema.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.scanner === scanner && parsed.data.digest === digest ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /** The pending records (of `scanner`, if given), oldest first; an unreadable one is dropped. */
  async pending(scanner?: string): Promise<PendingFindings[]> {
    const out: PendingFindings[] = [];
    const bad: string[] = [];
    for (const [field, text] of Object.entries(await this.redis.hgetall(this.key))) {
      let parsed: ReturnType<typeof pendingSchema.safeParse>;
      try {
        parsed = pendingSchema.safeParse(JSON.parse(text));
      } catch {
        parsed = pendingSchema.safeParse(undefined);
      }
      if (!parsed.success || pendingField(parsed.data.scanner, parsed.data.digest) !== field) bad.push(field);
      else if (scanner === undefined || parsed.data.scanner === scanner) out.push(parsed.data);
    }
    // Nothing can be published from an unreadable record (no approvals to name).
    if (bad.length) await this.redis.hdel(this.key, ...bad);
    return out.sort((a, b) => a.at - b.at);
  }

  /**
   * Publishes the pending records (of `scanner`; written before `before`, epoch ms), oldest
   * first, and settles those published; returns how many were. A record whose publish failed
   * stays for the next flush, and the first such error is thrown once the others were published.
   */
  async flush(events: FindingsEvents, options: { scanner?: string; before?: number; logger?: Pick<Logger, 'error'> } = {}): Promise<number> {
    const due = (await this.pending(options.scanner)).filter((r) => options.before === undefined || r.at < options.before);
    return (await publishPending(events, this, due, options.logger)).length;
  }
}

/**
 * Publishes `records` in order and settles those published. A record whose publish failed (a
 * health re-evaluation or audit append that failed: `findings.updated` is published `required`)
 * stays owed, and the others are still published: they are other digests, and one that fails
 * every time (its approval unreadable) must not hold back the rest. The first publish error is
 * thrown after the settle, so the writer's pass or job fails and is retried. A settle that fails
 * after a publish did is logged (`logger`), not thrown: the publish's error says why, and the
 * records left unsettled are only published again (a repeat consumers drop by its id).
 */
export async function publishPending(
  events: FindingsEvents,
  outbox: Pick<FindingsOutbox, 'settle'>,
  records: readonly PendingFindings[],
  logger?: Pick<Logger, 'error'>,
): Promise<PendingFindings[]> {
  const published: PendingFindings[] = [];
  let failure: { err: unknown } | undefined;
  for (const r of records) {
    try {
      await publishFindingsUpdated(events, { digest: r.digest, approvals: r.approvals }, r.scanner, r.dbVersion, r.id);
      published.push(r);
    } catch (err) {
      failure ??= { err };
    }
  }
  if (!failure) {
    await outbox.settle(published);
    return published;
  }
  await outbox.settle(published).catch((settleErr: unknown) => {
    logger?.error({ error: settleErr, published: published.length }, 'findings.updated published but not settled (they will be published again); a publish among them failed');
  });
  throw failure.err;
}
