/**
 * Chaining the outbox into the audit stream. Writers only XADD records to the outbox (alone,
 * or inside the Lua script of the state change they record); any process may then chain
 * pending records, in outbox order, in batches. Hashes are computed here (Redis Lua has no
 * SHA-256, and the entry key must never reach Redis), so each batch is a compare-and-set: one
 * script checks that the head is still the one the batch was chained to and that every record
 * is still pending, appends the entries, moves the head and deletes the records. Exactly one of
 * any number of racing drainers wins a batch; the others read again after a jittered backoff.
 */
import type Redis from 'ioredis';
import { GENESIS_HASH, type AuditEntry } from './chain';
import { parseOutboxRecord } from './record';

/** KEYS: stream, head, outbox. ARGV: expected head hash ('' = none), n, then n × (outbox id, seq, entry json, hash). */
const CHAIN_BATCH = `
local cur = redis.call('HGET', KEYS[2], 'hash') or ''
if cur ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
local ids = {}
for i = 0, n - 1 do
  local id = ARGV[3 + i * 4]
  if #redis.call('XRANGE', KEYS[3], id, id) == 0 then return -1 end
  ids[#ids + 1] = id
end
for i = 0, n - 1 do
  local b = 3 + i * 4
  redis.call('XADD', KEYS[1], ARGV[b + 1] .. '-1', 'entry', ARGV[b + 2], 'src', ARGV[b])
end
local last = 3 + (n - 1) * 4
redis.call('HSET', KEYS[2], 'seq', ARGV[last + 1], 'hash', ARGV[last + 3], 'src', ARGV[last])
redis.call('XDEL', KEYS[3], unpack(ids))
return 1
`;

export interface AuditKeys {
  /** The chained stream, entry id `<seq>-1`, fields `entry` (JSON) and `src` (outbox id). */
  stream: string;
  /** Hash `{seq, hash, src}`: the last chained entry. */
  head: string;
  /** Records waiting to be chained, field `record`. */
  outbox: string;
  /** Hash `{seq, hash, keyId, mac, at}`: the last archived entry, where the chain in Redis starts. */
  anchor: string;
}

export function auditKeys(prefix: string): AuditKeys {
  return { stream: `${prefix}:audit`, head: `${prefix}:audit:head`, outbox: `${prefix}:audit:outbox`, anchor: `${prefix}:audit:anchor` };
}

/** Computes an entry's `hash` from every other field. */
export type EntrySealer = (entry: Omit<AuditEntry, 'hash' | 'keyId'>) => AuditEntry;

export interface ChainedEntry {
  entry: AuditEntry;
  /** The outbox id the entry came from. */
  src: string;
}

/** One attempt: `chained` (this drainer won), `lost` (another drainer moved the head first), `empty`. */
export type BatchOutcome = { kind: 'chained'; entries: ChainedEntry[] } | { kind: 'lost' } | { kind: 'empty' };

export interface OutboxOptions {
  /** Records chained per script. @defaultValue 100 */
  batch?: number;
  /** Upper bound of the bytes of entries sent in one script. @defaultValue 4 MiB */
  batchBytes?: number;
}

export class Outbox {
  private readonly batch: number;
  private readonly batchBytes: number;

  constructor(private readonly redis: Redis, private readonly keys: AuditKeys, private readonly seal: EntrySealer, options: OutboxOptions = {}) {
    this.batch = options.batch ?? 100;
    this.batchBytes = options.batchBytes ?? 4 * 1024 * 1024;
    // EVALSHA (EVAL once per connection when the script is not cached yet): every drain chains.
    if (!('portcullisAuditChainBatch' in redis)) redis.defineCommand('portcullisAuditChainBatch', { numberOfKeys: 3, lua: CHAIN_BATCH });
  }

  /** XADDs a record; returns its outbox id. */
  async add(recordJson: string): Promise<string> {
    const id = await this.redis.xadd(this.keys.outbox, '*', 'record', recordJson);
    if (!id) throw new Error('XADD to the audit outbox returned no id');
    return id;
  }

  /** The id of the newest pending record, if any. */
  async newest(): Promise<string | null> {
    const rows = await this.redis.xrevrange(this.keys.outbox, '+', '-', 'COUNT', 1);
    return rows.length ? rows[0][0] : null;
  }

  /** Removes a record not yet chained; false when it is no longer pending (chained meanwhile). */
  async withdraw(id: string): Promise<boolean> {
    return (await this.redis.xdel(this.keys.outbox, id)) === 1;
  }

  async isPending(id: string): Promise<boolean> {
    return (await this.redis.xrange(this.keys.outbox, id, id)).length > 0;
  }

  /** Chains the oldest pending records (one batch), or says why not. */
  async chainBatch(): Promise<BatchOutcome> {
    // One MULTI: the head and the pending records are read at the same instant, so a batch is
    // never chained onto a head that already includes some of its records.
    const res = await this.redis.multi().hmget(this.keys.head, 'seq', 'hash').xrange(this.keys.outbox, '-', '+', 'COUNT', this.batch).exec();
    if (!res) return { kind: 'lost' };
    const [[headErr, headRaw], [rowsErr, rowsRaw]] = res;
    if (headErr) throw headErr;
    if (rowsErr) throw rowsErr;
    const [seqRaw, hashRaw] = headRaw as [string | null, string | null];
    const rows = rowsRaw as Array<[string, string[]]>;
    if (rows.length === 0) return { kind: 'empty' };

    let prevHash = hashRaw ?? GENESIS_HASH;
    let seq = Number(seqRaw ?? 0);
    const entries: ChainedEntry[] = [];
    const args: string[] = [];
    let bytes = 0;
    for (const [id, fields] of rows) {
      const record = parseOutboxRecord(id, fields);
      const entry = this.seal({ seq: seq + 1, at: record.at, actor: record.actor, action: record.action, target: record.target, details: record.details, prevHash });
      const json = JSON.stringify(entry);
      if (entries.length > 0 && bytes + json.length > this.batchBytes) break;
      bytes += json.length;
      entries.push({ entry, src: id });
      args.push(id, String(entry.seq), json, entry.hash);
      seq = entry.seq;
      prevHash = entry.hash;
    }
    const chain = (this.redis as Redis & { portcullisAuditChainBatch(...args: string[]): Promise<unknown> }).portcullisAuditChainBatch;
    const ok = await chain.call(this.redis, this.keys.stream, this.keys.head, this.keys.outbox, hashRaw ?? '', String(entries.length), ...args);
    return ok === 1 ? { kind: 'chained', entries } : { kind: 'lost' };
  }

  /**
   * The entry chained from outbox record `src`, searched from the newest entry back: a record
   * just drained by another process sits near the tail. Outbox ids increase with seq, so the
   * search stops at the first older record.
   */
  async findChained(src: string): Promise<AuditEntry | null> {
    // Small pages first (the record is usually among the last few dozen), growing after.
    for (let end = '+', page = 32; ; page = Math.min(page * 4, 2048)) {
      const rows = await this.redis.xrevrange(this.keys.stream, end, '-', 'COUNT', page);
      for (const [id, fields] of rows) {
        const at = fields.indexOf('src');
        const rowSrc = at >= 0 ? fields[at + 1] : '';
        if (rowSrc === src) return parseEntry(fields);
        if (rowSrc && compareStreamIds(rowSrc, src) < 0) return null;
        end = `(${id}`;
      }
      if (rows.length < page) return null;
    }
  }
}

export function parseEntry(fields: string[]): AuditEntry | null {
  const i = fields.indexOf('entry');
  try {
    const v: unknown = JSON.parse(i >= 0 ? fields[i + 1] : '');
    return typeof v === 'object' && v !== null ? (v as AuditEntry) : null;
  } catch {
    return null;
  }
}

/** Orders Redis stream ids `<ms>-<n>` numerically. */
export function compareStreamIds(a: string, b: string): number {
  const parse = (id: string): [bigint, bigint] => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(id);
    return m ? [BigInt(m[1]), BigInt(m[2] ?? 0)] : [0n, 0n];
  };
  const [am, an] = parse(a);
  const [bm, bn] = parse(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (an !== bn) return an < bn ? -1 : 1;
  return 0;
}
