/**
 * What the re-match keeps in Redis between passes, and its report writes as text.
 *
 * The state, per scanner: the data version the last pass matched against, the matcher version,
 * that data's manifest (../scanners/osv/manifest.ts) and the memo of every package identity the
 * pass looked at (./rematch-memo.ts), gzip-compressed JSON under one key. The next pass diffs
 * its data against that manifest and re-matches only what the change touched; without a state,
 * or with another matcher, it re-matches everything.
 *
 * Reports are the scan result store's keys (../store/redis-scans.ts), written as text. A report
 * whose findings the change left alone is not read nor written whole: a script checks that the
 * stored report is the scanner's succeeded report at the previous data version and replaces its
 * last fields (times, data version) in place. A changed report is edited only if the stored one
 * is still at the previous version, and a report matched whole is written only if the stored
 * one is still the text it was compared with, so a concurrent scan's newer report is never
 * overwritten. A write whose findings changed also writes, in the same script, the pending
 * `findings.updated` it owes (./findings-outbox.ts): published and settled after the write, or
 * by the next pass or the health sweep if the pass stops in between.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type Redis from 'ioredis';
import { z } from 'zod';
import { dataManifestSchema, type DataManifest } from '../scanners';
import { SCAN_RESULT_TTL_SECONDS, storeKeys } from '../store';
import { FindingsOutbox, pendingField, pendingText, STORE_IF, type PendingFindings } from './findings-outbox';
import { MATCHER_VERSION } from './matcher-version';
import type { KeptIdentity } from './rematch-memo';
import type { ReportEdit } from './rematch-text';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

const MAX_STATE_BYTES = 1024 * 1024 * 1024;

const isMatch = (x: unknown): boolean => Array.isArray(x) && x.length === 6 && Number.isInteger(x[0]) && (x[1] === null || typeof x[1] === 'string')
  && typeof x[2] === 'string' && typeof x[3] === 'string' && Number.isInteger(x[4]) && Number.isInteger(x[5]);
const isKept = (e: unknown): boolean => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'object' && e[1] !== null
  && typeof (e[1] as { h?: unknown }).h === 'string' && Array.isArray((e[1] as { m?: unknown }).m) && ((e[1] as { m: unknown[] }).m).every(isMatch);

const stateSchema = z.object({
  v: z.literal(1),
  matcher: z.string(),
  dbVersion: z.string(),
  manifest: dataManifestSchema,
  // A fleet's packages: checked with one predicate (zod's per-element tuples cost more than the JSON.parse).
  kept: z.custom<Array<[string, KeptIdentity]>>((v) => Array.isArray(v) && v.every(isKept), 'expected kept identities'),
});
export type RematchState = z.infer<typeof stateSchema>;

/** A stored report's text and the SHA-1 of its bytes. */
export interface StoredReport { text: string; sha1: string }

/** The outcome of a conditional report write: done, already at the new version, or not the expected report. */
export type WriteOutcome = 'done' | 'current' | 'other';

// KEYS[1] the report, KEYS[2] the findings outbox; ARGV: the scanner's succeeded report's start,
// its end at the previous data version, its end at the new one, TTL, 'edit', the stored start up
// to the findings (summary included), the 1-based position of the stored findings' closing ']',
// the new start, the new end, the outbox field and record owed when written ('' = none), and
// the edits ('c', from, length | 's', text).
// The stored report (about 500 KB for 1,000 packages) is never read whole into Lua: its checks
// read small ranges (GETRANGE) and the kept ranges are read once each. A GET, string.sub and
// table.concat of the whole text cost Redis about 4 times the CPU per report (bench:monitor), on
// the pass's critical path. The new text is then laid out in a string allocated at its exact
// size (SETRANGE of its last byte on the deleted key) and filled in place: built with SET and APPEND,
// Redis would keep APPEND's doubled allocation, about twice each report's size, until it expires.
const WRITE_IF = `
local len = redis.call('STRLEN', KEYS[1])
if len == 0 then return 'other' end
-- string.sub(s, a, b) of the stored text, for 1 <= a (GETRANGE reads a negative index from the end).
local function sub(a, b)
  if b < a then return '' end
  return redis.call('GETRANGE', KEYS[1], a - 1, b - 1)
end
local function starts(x) return len >= #x and sub(1, #x) == x end
local function ends(x) return len >= #x and sub(len - #x + 1, len) == x end
if not starts(ARGV[1]) then return 'other' end
if ends(ARGV[3]) then return 'current' end
if not ends(ARGV[2]) then return 'other' end
if not starts(ARGV[6]) then return 'other' end
local close = tonumber(ARGV[7])
if not close or close < 1 or sub(close, close + 13) ~= '],"startedAt":' then return 'other' end
local pieces = {}
local i = 12
while i <= #ARGV do
  if ARGV[i] == 'c' then
    local from = tonumber(ARGV[i + 1])
    local n = tonumber(ARGV[i + 2])
    if not from or from < 1 or not n or n < 0 then return redis.error_reply('ERR bad copy edit') end
    pieces[#pieces + 1] = sub(from, from + n - 1)
    i = i + 3
  else
    pieces[#pieces + 1] = ARGV[i + 1]
    i = i + 2
  end
end
pieces[#pieces + 1] = ARGV[9]
local size = #ARGV[8]
for _, piece in ipairs(pieces) do size = size + #piece end
if size == 0 then return redis.error_reply('ERR empty report') end
redis.call('DEL', KEYS[1])
-- Its last byte first: the string is allocated once, at its size; every byte is then written over.
redis.call('SETRANGE', KEYS[1], size - 1, ' ')
if #ARGV[8] > 0 then redis.call('SETRANGE', KEYS[1], 0, ARGV[8]) end
local at = #ARGV[8]
for _, piece in ipairs(pieces) do
  if #piece > 0 then redis.call('SETRANGE', KEYS[1], at, piece) end
  at = at + #piece
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[10] ~= '' then redis.call('HSET', KEYS[2], ARGV[10], ARGV[11]) end
return 'done'
`;

// Whole reports are written as a rescan writes them: compare-and-set with the event owed (./findings-outbox.ts).
const REPLACE_IF = STORE_IF;

type ScriptPipeline = {
  rematchWriteIfOutbox(...a: Array<string | Buffer>): void;
  rematchReplaceIfOutbox(...a: Array<string | Buffer>): void;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
};

export class RedisRematchState {
  private readonly keys;
  /** Where the writes below put the `findings.updated` they owe. */
  readonly outbox: FindingsOutbox;

  constructor(private readonly redis: Redis, private readonly prefix: string) {
    this.keys = storeKeys(prefix);
    this.outbox = new FindingsOutbox(redis, prefix);
    // Named for their layout: a process holding the old commands (one key) must not run these with it.
    if (!('rematchWriteIfOutbox' in redis)) redis.defineCommand('rematchWriteIfOutbox', { numberOfKeys: 2, lua: WRITE_IF });
    if (!('rematchReplaceIfOutbox' in redis)) redis.defineCommand('rematchReplaceIfOutbox', { numberOfKeys: 2, lua: REPLACE_IF });
  }

  private stateKey(scanner: string): string {
    return `${this.prefix}:rematch:state:${scanner}`;
  }

  async get(scanner: string): Promise<RematchState | null> {
    const packed = await this.redis.getBuffer(this.stateKey(scanner));
    if (!packed) return null;
    const parsed = stateSchema.safeParse(JSON.parse((await gunzipAsync(packed, { maxOutputLength: MAX_STATE_BYTES })).toString('utf8')));
    return parsed.success ? parsed.data : null;
  }

  async put(scanner: string, state: { dbVersion: string; manifest: DataManifest; kept: Array<[string, KeptIdentity]> }): Promise<void> {
    const value: RematchState = { v: 1, matcher: MATCHER_VERSION, ...state };
    await this.redis.set(this.stateKey(scanner), await gzipAsync(Buffer.from(JSON.stringify(value), 'utf8')));
  }

  /** The stored reports (null where none), one round trip: each text, and the SHA-1 {@link replaceIf} compares. */
  async reports(scanner: string, digests: readonly string[]): Promise<Array<StoredReport | null>> {
    if (digests.length === 0) return [];
    const raw = await this.redis.mgetBuffer(digests.map((d) => this.keys.scanResult(scanner, d)));
    // Hashed as stored (the bytes Redis hashes), not re-encoded from the text.
    return raw.map((b) => (b ? { text: b.toString('utf8'), sha1: createHash('sha1').update(b).digest('hex') } : null));
  }

  /**
   * Compare-and-set of whole report texts, one round trip: each is written (as the scan result
   * store would) only if the stored report is still the one whose SHA-1 is `expected`
   * ({@link reports}; null: still none). 'other': another report was stored since it was read, and it stays.
   * `pending`: the `findings.updated` the new report owes, written with it.
   */
  async replaceIf(scanner: string, items: ReadonlyArray<{ digest: string; text: string; expected: string | null; pending?: PendingFindings }>): Promise<Array<'done' | 'other'>> {
    if (items.length === 0) return [];
    const pipe = this.redis.pipeline() as unknown as ScriptPipeline;
    for (const { digest, text, expected, pending } of items) {
      pipe.rematchReplaceIfOutbox(this.keys.scanResult(scanner, digest), this.outbox.key, expected ?? '', Buffer.from(text, 'utf8'), String(SCAN_RESULT_TTL_SECONDS), ...owed(pending));
    }
    return ((await pipe.exec()) ?? []).map(([err, r]) => {
      if (err) throw err;
      return r === 'done' ? 'done' : 'other';
    });
  }

  /**
   * For each item: if its stored report is `scanner`'s succeeded report at `from`, with the
   * layout the edit was made for, writes the new one as edits of the stored text (./rematch-text.ts),
   * and with it the `findings.updated` it owes (`pending`), if any.
   */
  async writeIf(scanner: string, from: string, to: string, tail: string, items: ReadonlyArray<{ digest: string; edit: ReportEdit; pending?: PendingFindings }>): Promise<WriteOutcome[]> {
    if (items.length === 0) return [];
    const start = `{"scanner":${JSON.stringify(scanner)},"status":"succeeded",`;
    const endFrom = `,"dbVersion":${JSON.stringify(from)}}`;
    const endTo = `,"dbVersion":${JSON.stringify(to)}}`;
    const pipe = this.redis.pipeline() as unknown as ScriptPipeline;
    for (const { digest, edit, pending } of items) {
      pipe.rematchWriteIfOutbox(this.keys.scanResult(scanner, digest), this.outbox.key, start, endFrom, endTo, String(SCAN_RESULT_TTL_SECONDS), 'edit', edit.before, String(edit.end), edit.head, tail, ...owed(pending), ...edit.ops);
    }
    const replies = (await pipe.exec()) ?? [];
    return replies.map(([err, r]) => {
      if (err) throw err;
      return r === 'done' || r === 'current' ? r : 'other';
    });
  }
}

/** The outbox field and record a write owes ('' and '' for none). */
function owed(pending: PendingFindings | undefined): [string, string] {
  return pending ? [pendingField(pending.scanner, pending.digest), pendingText(pending)] : ['', ''];
}

/** The last fields of a report: what a re-match that kept the findings writes after them. */
export function reportTail(startedAt: string, finishedAt: string, version: string): string {
  return `],"startedAt":${JSON.stringify(startedAt)},"finishedAt":${JSON.stringify(finishedAt)},"dbVersion":${JSON.stringify(version)}}`;
}
