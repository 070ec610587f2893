/**
 * The audit log in Redis: records go through the outbox (`{prefix}:audit:outbox`) into the
 * chained stream (`{prefix}:audit`, entry id `<seq>-1`) with a head key holding the last seq
 * and hash; see outbox.ts for how racing drainers chain each record exactly once.
 */
import type Redis from 'ioredis';
import { AUDIT_DATASET, ecsCategorization } from '../lib/ecs';
import { AppError } from '../lib/errors';
import type { ConfirmWrite } from '../lib/redis';
import type { Logger } from '../lib/logger';
import { GENESIS, sealEntry, type AuditEntry, type Break, type ChainPoint } from './chain';
import type { FoundCheckpoint } from './checkpoints';
import { AuditKeyring } from './keys';
import { auditKeys, compareStreamIds, Outbox, parseEntry, type AuditKeys, type ChainedEntry } from './outbox';
import { readAnchor } from './anchor';
import { toOutboxJson, type AuditRecord } from './record';
import { TrailVerifier, type TrailResult } from './verify';

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
  /** Checks the chain in Redis from its anchor to its head, and the given signed checkpoints against it. */
  verify(checkpoints?: readonly FoundCheckpoint[]): Promise<TrailResult>;
}

export interface AuditLogOptions {
  /** The entry keys. @defaultValue from PORTCULLIS_AUDIT_KEY (throws ConfigError when unset: fail closed) */
  keys?: AuditKeyring;
  logger?: Logger;
  /** How long append() and drain() keep retrying against other drainers. @defaultValue 10000 */
  timeoutMs?: number;
  /** Records chained per script. @defaultValue 100 */
  batch?: number;
  /** Run after an append is chained, before it is reported done (replicas, lib/redis.ts). */
  confirm?: ConfirmWrite;
}

/** Backoff after a lost compare-and-set: full jitter, doubling up to a cap, so racing drainers spread out. */
function backoff(attempt: number): Promise<void> {
  const cap = Math.min(200, 2 * 2 ** Math.min(attempt, 10));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
}

export class RedisAuditLog implements AuditLog {
  readonly keyRing: AuditKeyring;
  readonly prefix: string;
  private readonly keys: AuditKeys;
  private readonly outbox: Outbox;
  private readonly logger?: Logger;
  private readonly timeoutMs: number;
  private readonly confirm?: ConfirmWrite;

  constructor(private readonly redis: Redis, prefix: string, options: AuditLogOptions = {}) {
    this.prefix = prefix;
    this.keyRing = options.keys ?? AuditKeyring.fromEnv();
    this.keys = auditKeys(prefix);
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 10000;
    this.confirm = options.confirm;
    this.outbox = new Outbox(redis, this.keys, (e) => sealEntry(this.keyRing, e), { batch: options.batch });
  }

  /**
   * Either returns the record's chained entry or throws with the record withdrawn from the
   * outbox (so that a caller told "not recorded", e.g. an approval answered 503, never finds it
   * chained later). Only when Redis itself fails mid-way may the record stay pending.
   */
  async append(record: AuditRecord): Promise<AuditEntry> {
    const entry = await this.appendOnce(record);
    // Chained, and stays chained: a 503 here says only that no replica confirmed it in time.
    await this.confirm?.();
    return entry;
  }

  private async appendOnce(record: AuditRecord): Promise<AuditEntry> {
    const src = await this.outbox.add(toOutboxJson(record));
    const deadline = Date.now() + this.timeoutMs;
    try {
      for (let attempt = 0; ;) {
        const outcome = await this.outbox.chainBatch();
        if (outcome.kind === 'chained') {
          this.logChained(outcome.entries);
          const mine = outcome.entries.find((c) => c.src === src);
          if (mine) return mine.entry;
        }
        // Another drainer may have chained our record (we lost a race, or chained a later batch).
        if (!(await this.outbox.isPending(src))) return await this.chainedOrFail(src);
        if (outcome.kind === 'chained') continue; // ours is behind this batch: chain the next one
        if (Date.now() > deadline) break;
        await backoff(attempt++);
      }
    } catch (err) {
      await this.outbox.withdraw(src).catch(() => false);
      throw err;
    }
    // XDEL is atomic against the batch script (which checks every record is still pending):
    // either we withdraw it, or it was chained just now and we return it.
    if (await this.outbox.withdraw(src)) throw this.timeout('append');
    return this.chainedOrFail(src);
  }

  private async chainedOrFail(src: string): Promise<AuditEntry> {
    const entry = await this.outbox.findChained(src);
    if (entry) return entry;
    throw new AppError('INTERNAL', `audit record ${src} left the outbox but is not in the chain`);
  }

  /** The drain of this process now running, and the one to run after it (see {@link drain}). */
  private draining: Promise<number> | null = null;
  private nextDrain: Promise<number> | null = null;

  /**
   * Chains the records pending when it is called (up to the newest one then), not those added
   * after, so that a drain ends under a steady stream of writers.
   *
   * One drain at a time per process: a call while one runs shares the next run, which starts
   * once the running one ends and so covers the caller's records. Every state change drains
   * after it commits, and in a burst the drains of one process's jobs ran side by side, raced
   * for the same batch, and the losers re-checked and backed off (issue 17: about 6 Redis
   * commands per drain, 5 drains per request).
   */
  drain(): Promise<number> {
    // The queued run first: between the end of a run (`draining` cleared) and the start of the
    // queued one there are a few microtasks, in which a caller (one resumed by the run that
    // just ended) would otherwise start a run of its own beside the queued one.
    if (this.nextDrain) return this.nextDrain;
    if (!this.draining) return this.startDrain();
    this.nextDrain = this.draining.catch(() => 0).then(() => {
      this.nextDrain = null;
      return this.startDrain();
    });
    return this.nextDrain;
  }

  private startDrain(): Promise<number> {
    const run = this.drainOnce().finally(() => {
      if (this.draining === run) this.draining = null;
    });
    this.draining = run;
    return run;
  }

  private async drainOnce(): Promise<number> {
    const newest = await this.outbox.newest();
    if (!newest) return 0;
    const deadline = Date.now() + this.timeoutMs;
    let chained = 0;
    for (let attempt = 0; ;) {
      const outcome = await this.outbox.chainBatch();
      if (outcome.kind === 'empty') return chained;
      if (outcome.kind === 'chained') {
        chained += outcome.entries.length;
        this.logChained(outcome.entries);
        if (compareStreamIds(outcome.entries[outcome.entries.length - 1].src, newest) >= 0) return chained;
        attempt = 0;
        continue;
      }
      // Lost to another drainer: done once it has chained what was pending when we started.
      if (!(await this.outbox.isPending(newest))) return chained;
      if (Date.now() > deadline) throw this.timeout('drain');
      await backoff(attempt++);
    }
  }

  private timeout(what: string): AppError {
    return new AppError('DEPENDENCY_UNAVAILABLE', `audit ${what}: other writers kept the chain busy for ${this.timeoutMs} ms`, { temporary: true });
  }

  /**
   * One ECS line per chained entry, by the process that chained it: the ECS categorization of
   * its action (src/lib/ecs.ts), `event.dataset: portcullis.audit`, and `event.hash` = the
   * entry's chain hash, so that ELK holds a copy of the chain it can check against checkpoints.
   */
  private logChained(entries: ChainedEntry[]): void {
    if (!this.logger) return;
    for (const { entry } of entries) {
      this.logger.info({
        ...ecsCategorization(entry.action, entry.details ?? {}), 'event.dataset': AUDIT_DATASET,
        'event.sequence': entry.seq, 'event.hash': entry.hash, 'event.created': entry.at, 'user.name': entry.actor,
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

  /** The last chained entry, as the head key says (genesis when there is none). */
  async head(): Promise<ChainPoint> {
    const [seqRaw, hashRaw] = await this.redis.hmget(this.keys.head, 'seq', 'hash');
    return seqRaw ? { seq: Number(seqRaw), hash: hashRaw ?? '' } : GENESIS;
  }

  /** The signed archive anchor, when it verifies (null: none, or not authentic). */
  async anchor(): Promise<ChainPoint | null> {
    const a = await readAnchor(this.redis, this.keys, this.keyRing, this.prefix);
    return a.ok && a.point.seq > 0 ? a.point : null;
  }

  /** The entry with this seq, if the stream holds it. */
  async entry(seq: number): Promise<AuditEntry | null> {
    const rows = await this.redis.xrange(this.keys.stream, `${seq}-1`, `${seq}-1`);
    return rows.length ? parseEntry(rows[0][1]) : null;
  }

  async verify(checkpoints: readonly FoundCheckpoint[] = []): Promise<TrailResult> {
    const v = new TrailVerifier(this.keyRing, checkpoints);
    // The head first: entries chained while we walk lie beyond it and are left for next time.
    const head = await this.head();
    return (await this.walk(v, head.seq)) ?? v.finish(head);
  }

  /**
   * Feeds the part of the chain in Redis to `v`, from the anchor (genesis when nothing was
   * archived), page by page. Pages follow the stream ids, not the seq inside the entries,
   * which a tamperer could edit. Stops after seq `upTo` (the head read before the walk).
   * Returns the first break, or null (then `v.finish(head)`).
   */
  async walk(v: TrailVerifier, upTo: number): Promise<Break | null> {
    const anchor = await readAnchor(this.redis, this.keys, this.keyRing, this.prefix);
    if (!anchor.ok) return { ok: false, count: 0, seq: anchor.seq, reason: anchor.reason };
    const started = v.begin(anchor.point, 'the log in Redis');
    if (started) return started;
    for (let start = '-'; ;) {
      const rows = await this.page(start, PAGE);
      for (const { id, entry } of rows) {
        const seq = Number(id.split('-')[0]);
        if (seq > upTo) return null;
        if (!entry) return { ok: false, count: v.count, seq, reason: 'entry is not readable JSON (entry altered)' };
        if (entry.seq !== seq) return { ok: false, count: v.count, seq, reason: `entry says seq ${String(entry.seq)} but is stored as ${seq} (entry altered)` };
        const broken = v.push(entry);
        if (broken) return broken;
      }
      if (rows.length < PAGE) return null;
      start = `(${rows[rows.length - 1].id}`;
    }
  }
}
