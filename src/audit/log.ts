/**
 * The audit log in Redis: records go through the outbox (`{prefix}:audit:outbox`) into the
 * chained stream (`{prefix}:audit`, entry id `<seq>-1`) with a head key holding the last seq
 * and hash; see outbox.ts for how racing drainers chain each record exactly once.
 */
import type Redis from 'ioredis';
import { AppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { ChainVerifier, entryHash, GENESIS_HASH, type AuditEntry, type VerifyResult } from './chain';
import { auditKeys, Outbox, parseEntry, type AuditKeys, type ChainedEntry } from './outbox';
import { toOutboxJson, type AuditRecord } from './record';

export type { AuditRecord } from './record';

const PAGE = 500;

/** The append-only, hash-chained audit log. */
export interface AuditLog {
  /** Writes the record to the outbox, then drains until it is chained; returns its entry. */
  append(record: AuditRecord): Promise<AuditEntry>;
  /** Chains every record pending in the outbox (written by anyone); returns how many this call chained. */
  drain(): Promise<number>;
  /** Entries with seq > `after`, oldest first. */
  list(after: number, limit: number): Promise<AuditEntry[]>;
  verify(): Promise<VerifyResult>;
}

export interface AuditLogOptions {
  logger?: Logger;
  /** How long append() and drain() keep retrying against other drainers. @defaultValue 10000 */
  timeoutMs?: number;
  /** Records chained per script. @defaultValue 100 */
  batch?: number;
}

/** Backoff after a lost compare-and-set: full jitter, doubling up to a cap, so racing drainers spread out. */
function backoff(attempt: number): Promise<void> {
  const cap = Math.min(200, 2 * 2 ** Math.min(attempt, 10));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
}

export class RedisAuditLog implements AuditLog {
  private readonly keys: AuditKeys;
  private readonly outbox: Outbox;
  private readonly logger?: Logger;
  private readonly timeoutMs: number;

  constructor(private readonly redis: Redis, prefix: string, options: AuditLogOptions = {}) {
    this.keys = auditKeys(prefix);
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.outbox = new Outbox(redis, this.keys, (e) => ({ ...e, hash: entryHash(e) }), { batch: options.batch });
  }

  async append(record: AuditRecord): Promise<AuditEntry> {
    const src = await this.outbox.add(toOutboxJson(record));
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ;) {
      const outcome = await this.outbox.chainBatch();
      if (outcome.kind === 'chained') {
        this.logChained(outcome.entries);
        const mine = outcome.entries.find((c) => c.src === src);
        if (mine) return mine.entry;
      }
      // Another drainer may have chained our record (we lost a race, or chained a later batch).
      if (!(await this.outbox.isPending(src))) {
        const entry = await this.outbox.findChained(src);
        if (entry) return entry;
        throw new AppError('INTERNAL', `audit record ${src} left the outbox but is not in the chain`);
      }
      if (outcome.kind === 'chained') continue; // ours is behind this batch: chain the next one
      if (Date.now() > deadline) throw this.timeout('append');
      await backoff(attempt++);
    }
  }

  async drain(): Promise<number> {
    const deadline = Date.now() + this.timeoutMs;
    let chained = 0;
    for (let attempt = 0; ;) {
      const outcome = await this.outbox.chainBatch();
      if (outcome.kind === 'empty') return chained;
      if (outcome.kind === 'chained') {
        chained += outcome.entries.length;
        this.logChained(outcome.entries);
        attempt = 0;
        continue;
      }
      if (Date.now() > deadline) throw this.timeout('drain');
      await backoff(attempt++);
    }
  }

  private timeout(what: string): AppError {
    // The record stays in the outbox: the periodic drain of any process chains it later.
    return new AppError('DEPENDENCY_UNAVAILABLE', `audit ${what}: other writers kept the chain busy for ${this.timeoutMs} ms; pending records stay in the outbox`, { temporary: true });
  }

  /** One ECS line per chained entry, by the process that chained it. */
  private logChained(entries: ChainedEntry[]): void {
    if (!this.logger) return;
    for (const { entry } of entries) {
      this.logger.info({
        'event.kind': 'event', 'event.category': ['configuration'], 'event.action': entry.action,
        'event.sequence': entry.seq, 'event.hash': entry.hash, 'user.name': entry.actor,
        'portcullis.audit.target': entry.target,
      }, `audit: ${entry.action} ${entry.target}`);
    }
  }

  async list(after: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.page(`(${after}-1`, limit);
    return rows.map((r) => r.entry).filter((e): e is AuditEntry => e !== null);
  }

  private async page(start: string, limit: number): Promise<Array<{ id: string; entry: AuditEntry | null }>> {
    const rows = await this.redis.xrange(this.keys.stream, start, '+', 'COUNT', limit);
    return rows.map(([id, fields]) => ({ id, entry: parseEntry(fields) }));
  }

  /** Reads the stream page by page; entries are checked as they come, not all held at once. */
  async verify(): Promise<VerifyResult> {
    const [seqRaw, hashRaw] = await this.redis.hmget(this.keys.head, 'seq', 'hash');
    const head = seqRaw ? { seq: Number(seqRaw), hash: hashRaw ?? '' } : { seq: 0, hash: GENESIS_HASH };
    const verifier = new ChainVerifier();
    // Pages follow the stream ids, not the seq inside the entries, which a tamperer could edit.
    for (let start = '-'; ;) {
      const rows = await this.page(start, PAGE);
      for (const { id, entry } of rows) {
        const seq = Number(id.split('-')[0]);
        if (!entry) return { ok: false, count: seq - 1, seq, reason: 'entry is not readable JSON (entry altered)' };
        if (entry.seq !== seq) return { ok: false, count: seq - 1, seq, reason: `entry says seq ${String(entry.seq)} but is stored as ${seq} (entry altered)` };
        const broken = verifier.push(entry);
        if (broken) return broken;
      }
      if (rows.length < PAGE) break;
      start = `(${rows[rows.length - 1].id}`;
    }
    return verifier.finish(head);
  }
}
