/**
 * The audit log in Redis: a stream (`{prefix}:audit`, entry id `<seq>-1`) plus a head key
 * holding the last seq and hash. The hash is computed here (Redis Lua has no SHA-256), so an
 * append is compare-and-set: the script appends only if the head is still the one the hash
 * was chained to, and the caller retries otherwise. API and workers append concurrently.
 */
import type Redis from 'ioredis';
import type { Logger } from '../lib/logger';
import { canonicalJson, ChainVerifier, entryHash, GENESIS_HASH, type AuditEntry, type VerifyResult } from './chain';

const APPEND = `
local head = redis.call('HGET', KEYS[2], 'hash') or ARGV[3]
if head ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[1], ARGV[2] .. '-1', 'entry', ARGV[4])
redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'hash', ARGV[5])
return 1
`;

const MAX_APPEND_RETRIES = 50;
const PAGE = 500;

/** What a subscriber records; seq, time and hashes are added by the log. */
export interface AuditRecord {
  actor: string;
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

/** The append-only, hash-chained audit log. */
export interface AuditLog {
  append(record: AuditRecord): Promise<AuditEntry>;
  /** Entries with seq > `after`, oldest first. */
  list(after: number, limit: number): Promise<AuditEntry[]>;
  verify(): Promise<VerifyResult>;
}

export class RedisAuditLog implements AuditLog {
  private readonly stream: string;
  private readonly head: string;

  constructor(private readonly redis: Redis, prefix: string, private readonly logger?: Logger) {
    this.stream = `${prefix}:audit`;
    this.head = `${prefix}:audit:head`;
  }

  async append(record: AuditRecord): Promise<AuditEntry> {
    for (let attempt = 0; attempt < MAX_APPEND_RETRIES; attempt++) {
      const [seqRaw, hashRaw] = await this.redis.hmget(this.head, 'seq', 'hash');
      const prevHash = hashRaw ?? GENESIS_HASH;
      const seq = Number(seqRaw ?? 0) + 1;
      const base = { seq, at: new Date().toISOString(), actor: record.actor, action: record.action, target: record.target, details: record.details ?? {}, prevHash };
      const entry: AuditEntry = { ...base, hash: entryHash(base) };
      const ok = await this.redis.eval(APPEND, 2, this.stream, this.head, prevHash, String(seq), GENESIS_HASH, canonicalJson(entry), entry.hash);
      if (ok === 1) {
        this.logger?.info({
          'event.kind': 'event', 'event.category': ['configuration'], 'event.action': entry.action,
          'event.sequence': entry.seq, 'event.hash': entry.hash, 'user.name': entry.actor,
          'portcullis.audit.target': entry.target,
        }, `audit: ${entry.action} ${entry.target}`);
        return entry;
      }
    }
    throw new Error('audit append kept conflicting with concurrent appends');
  }

  async list(after: number, limit: number): Promise<AuditEntry[]> {
    const rows = await this.page(`(${after}-1`, limit);
    return rows.map((r) => r.entry).filter((e): e is AuditEntry => e !== null);
  }

  private async page(start: string, limit: number): Promise<Array<{ id: string; entry: AuditEntry | null }>> {
    const rows = await this.redis.xrange(this.stream, start, '+', 'COUNT', limit);
    return rows.map(([id, fields]) => ({ id, entry: parseFields(fields) }));
  }

  /** Reads the stream page by page; entries are checked as they come, not all held at once. */
  async verify(): Promise<VerifyResult> {
    const [seqRaw, hashRaw] = await this.redis.hmget(this.head, 'seq', 'hash');
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

function parseFields(fields: string[]): AuditEntry | null {
  const i = fields.indexOf('entry');
  try {
    const v: unknown = JSON.parse(i >= 0 ? fields[i + 1] : '');
    return typeof v === 'object' && v !== null ? (v as AuditEntry) : null;
  } catch {
    return null;
  }
}
