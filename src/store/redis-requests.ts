/**
 * Requests in Redis: one hash per request (`v` = version, `json` = the record), sorted-set
 * indexes per team, status and team+status, and claim keys for dedup. A save is one Lua
 * script, so the record and its indexes never disagree and a concurrent save is detected
 * (compare-and-set on the version) instead of silently lost.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { ConfirmWrite } from '../lib/redis';
import { AppError } from '../lib/errors';
import { decodeCursor, encodeCursor, indexMember, memberId, storeKeys, type StoreKeys } from './keys';
import type { ScanReport } from '../scanners/types';
import { requestSummary, scanSummary, type IntakeRequest, type ListQuery, type OutboxRecord, type Page, type RequestStatus, type RequestStore, type RequestSummary, type SaveOptions, type ScanSummary, type TransitionResult, type TransitionSaveOptions } from './types';

// KEYS: request, all, team, oldStatus, oldTeamStatus, newStatus, newTeamStatus, outbox, then the
//   team+digest sets the request belongs in.
// ARGV: expected version, new version, json, member, new status, allowed old statuses
//   (`,a,b,`; empty = any), id, then the outbox records (JSON).
// Answers 1 saved, 0 version conflict, -1 not in an allowed status. The status is kept in
// field `s` so the check need not decode the record; records saved before it have only `json`.
const SAVE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
if ARGV[6] ~= '' then
  local s = redis.call('HGET', KEYS[1], 's')
  if not s then
    local cur = redis.call('HGET', KEYS[1], 'json')
    s = cur and cjson.decode(cur).status or ''
  end
  if not string.find(ARGV[6], ',' .. s .. ',', 1, true) then return -1 end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'json', ARGV[3], 's', ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[4])
redis.call('ZREM', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[6], 0, ARGV[4])
redis.call('ZADD', KEYS[7], 0, ARGV[4])
for i = 9, #KEYS do redis.call('SADD', KEYS[i], ARGV[7]) end
for i = 8, #ARGV do redis.call('XADD', KEYS[8], '*', 'record', ARGV[i]) end
return 1
`;

// KEYS: request, outbox, all, team, status, teamStatus, then the digest sets, then (refs, report) pairs.
// ARGV: expected version, member, id, number of digest sets, number of reports, then records.
const DELETE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, 6 do redis.call('ZREM', KEYS[i], ARGV[2]) end
local sets = tonumber(ARGV[4])
for i = 7, 6 + sets do redis.call('SREM', KEYS[i], ARGV[3]) end
local first = 7 + sets
for j = 0, tonumber(ARGV[5]) - 1 do
  local refs = KEYS[first + 2 * j]
  redis.call('SREM', refs, ARGV[3])
  if redis.call('SCARD', refs) == 0 then redis.call('DEL', KEYS[first + 2 * j + 1]) end
end
for i = 6, #ARGV do redis.call('XADD', KEYS[2], '*', 'record', ARGV[i]) end
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const MAX_CONFLICT_RETRIES = 20;

/** The scripts defined on the connection (see the constructor). */
interface ScriptCommands {
  portcullisRequestSave(numberOfKeys: number, ...args: string[]): Promise<unknown>;
}

/** A record as stored: scan summaries (older records: full reports inline). */
type StoredRequest = Omit<IntakeRequest, 'scans'> & { scans: Array<ScanSummary | ScanReport> };

function parseStored(json: string): StoredRequest {
  const r = JSON.parse(json) as Partial<StoredRequest> & Omit<StoredRequest, 'waivers'>;
  // Records saved before waivers existed have none.
  return { ...r, waivers: r.waivers ?? [] };
}

/** A short random wait after a lost compare-and-set, so that many writers do not collide in lockstep. */
async function backoff(attempt: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 ** attempt)));
}

function conflict(id: string): AppError {
  return new AppError('CONFLICT', `request ${id} is being changed concurrently; try again`, { temporary: true });
}

export class RedisRequestStore implements RequestStore {
  private readonly keys: StoreKeys;

  private readonly confirm?: ConfirmWrite;

  /** `confirm`: run after a transition (decisions, revocations carry audit records) before it is reported done. */
  constructor(private readonly redis: Redis, prefix: string, options: { confirm?: ConfirmWrite } = {}) {
    this.keys = storeKeys(prefix);
    this.confirm = options.confirm;
    // defineCommand: EVALSHA (EVAL once per connection when the script is not cached yet), so a
    // save does not send its ~1 KB script each time; the key count is the first argument.
    if (!('portcullisRequestSave' in redis)) redis.defineCommand('portcullisRequestSave', { lua: SAVE });
  }

  async create(request: IntakeRequest, options: SaveOptions = {}): Promise<void> {
    const saved = { ...request, version: 1 };
    const result = await this.save(saved, 0, request.status, '', options.records?.(saved, request) ?? []);
    if (result !== 1) throw new AppError('CONFLICT', `request ${request.id} already exists`);
  }

  async get(id: string): Promise<IntakeRequest | null> {
    const json = await this.redis.hget(this.keys.request(id), 'json');
    if (!json) return null;
    return this.hydrate(parseStored(json));
  }

  /** The full record: scan summaries joined with their stored reports. */
  private async hydrate(r: StoredRequest): Promise<IntakeRequest> {
    const ids = r.scans.map((s) => ('reportId' in s ? s.reportId : undefined)).filter((x): x is string => Boolean(x));
    const jsons = ids.length ? await this.redis.mget(...ids.map((x) => this.keys.report(x))) : [];
    const found = new Map(ids.map((x, i) => [x, jsons[i]]));
    const scans = r.scans.map((s): ScanReport => {
      if (!('findingsCount' in s)) return s;
      const stored = s.reportId ? found.get(s.reportId) : null;
      if (stored) return JSON.parse(stored) as ScanReport;
      // Fail closed: evidence that cannot be read counts as a failed scan, which no waiver covers.
      const { findingsCount: _n, reportId: _id, ...rest } = s;
      return { ...rest, status: 'failed', findings: [], error: { code: 'REPORT_MISSING', message: `the stored report of ${s.scanner} is missing` } };
    });
    return { ...r, scans };
  }

  private async load(id: string): Promise<IntakeRequest> {
    const current = await this.get(id);
    if (!current) throw new AppError('NOT_FOUND', `request ${id} not found`);
    return current;
  }

  async update(id: string, change: (current: IntakeRequest) => IntakeRequest | null, options: SaveOptions = {}): Promise<IntakeRequest> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const current = await this.load(id);
      const next = change(structuredClone(current));
      if (!next) return current;
      const saved = { ...next, id: current.id, team: current.team, createdAt: current.createdAt, version: current.version + 1 };
      if (await this.save(saved, current.version, current.status, '', options.records?.(saved, current) ?? []) === 1) return saved;
      await backoff(attempt);
    }
    throw conflict(id);
  }

  async transition(id: string, from: readonly RequestStatus[], to: RequestStatus | ((current: IntakeRequest) => RequestStatus),
    build: (current: IntakeRequest) => IntakeRequest, options: TransitionSaveOptions = {}): Promise<TransitionResult> {
    const allowed = `,${from.join(',')},`;
    // The caller's fresh read, when it is one this call could move: the save's version check
    // tells whether it is still current (else the next attempt reads, without a backoff).
    let known = options.known?.id === id && from.includes(options.known.status) ? options.known : undefined;
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      // Every attempt starts from what is stored now: nothing computed for an earlier read survives.
      const fromKnown = known !== undefined;
      const current = known ?? await this.load(id);
      known = undefined;
      if (!from.includes(current.status)) return { moved: false, request: current };
      const status = typeof to === 'function' ? to(structuredClone(current)) : to;
      const next = build(structuredClone(current));
      const saved: IntakeRequest = { ...next, status, id: current.id, team: current.team, createdAt: current.createdAt, version: current.version + 1 };
      const result = await this.save(saved, current.version, current.status, allowed, options.records?.(saved, current) ?? []);
      if (result === 1) {
        // The write stays even when no replica confirms it (503): see README "Redis high availability".
        await this.confirm?.();
        return { moved: true, request: saved, from: current.status };
      }
      if (result === 0 && !fromKnown) await backoff(attempt);
      // -1 cannot happen with a matching version (the status was read with it); the next read answers.
    }
    throw conflict(id);
  }

  private async save(request: IntakeRequest, expectedVersion: number, oldStatus: string, allowed: string, records: OutboxRecord[]): Promise<number> {
    const k = this.keys;
    const member = indexMember(request.createdAt, request.id);
    const digests = [...new Set([request.source.digest, request.stagedDigest].filter((d): d is string => Boolean(d)))];
    // Reports are content-addressed and never change: written (once) before the record that
    // refers to them, so a saved record never points at a report that is not there.
    const reports = request.scans.map((scan) => {
      const json = JSON.stringify(scan);
      return { json, id: createHash('sha256').update(json).digest('hex'), scan };
    });
    if (reports.length) {
      const tx = this.redis.multi();
      for (const r of reports) tx.set(k.report(r.id), r.json, 'NX');
      await tx.exec();
    }
    const stored: StoredRequest = { ...request, scans: reports.map((r) => scanSummary(r.scan, r.id)) };
    const keys = [
      k.request(request.id), k.indexAll(), k.indexTeam(request.team),
      k.indexStatus(oldStatus), k.indexTeamStatus(request.team, oldStatus),
      k.indexStatus(request.status), k.indexTeamStatus(request.team, request.status),
      k.auditOutbox(), ...digests.flatMap((d) => [k.requestsByDigest(request.team, d), k.requestsByDigestAll(d)]), ...reports.map((r) => k.reportRefs(r.id)),
    ];
    const result = await (this.redis as Redis & ScriptCommands).portcullisRequestSave(keys.length, ...keys,
      String(expectedVersion), String(request.version), JSON.stringify(stored), member, request.status, allowed, request.id,
      ...records.map((r) => JSON.stringify({ actor: r.actor, action: r.action, target: r.target, details: r.details, at: r.at })));
    return Number(result);
  }

  async idsByDigest(team: string | '*', digest: string): Promise<string[]> {
    const key = team === '*' ? this.keys.requestsByDigestAll(digest) : this.keys.requestsByDigest(team, digest);
    return (await this.redis.smembers(key)).sort();
  }

  async delete(request: IntakeRequest, options: SaveOptions = {}): Promise<boolean> {
    const k = this.keys;
    const stored = parseStored((await this.redis.hget(k.request(request.id), 'json')) ?? 'null');
    const reportIds = (stored?.scans ?? []).map((s) => ('reportId' in s ? s.reportId : undefined)).filter((x): x is string => Boolean(x));
    const digests = [...new Set([request.source.digest, request.stagedDigest].filter((d): d is string => Boolean(d)))];
    const sets = digests.flatMap((d) => [k.requestsByDigest(request.team, d), k.requestsByDigestAll(d)]);
    const keys = [
      k.request(request.id), k.auditOutbox(), k.indexAll(), k.indexTeam(request.team), k.indexStatus(request.status), k.indexTeamStatus(request.team, request.status),
      ...sets, ...reportIds.flatMap((x) => [k.reportRefs(x), k.report(x)]),
    ];
    const records = options.records?.(request, request) ?? [];
    const result = await this.redis.eval(DELETE, keys.length, ...keys,
      String(request.version), indexMember(request.createdAt, request.id), request.id, String(sets.length), String(reportIds.length),
      ...records.map((r) => JSON.stringify({ actor: r.actor, action: r.action, target: r.target, details: r.details, at: r.at })));
    return Number(result) === 1;
  }

  async list(query: ListQuery): Promise<Page<RequestSummary>> {
    const k = this.keys;
    const { status } = query;
    const indexes = query.teams === '*'
      ? [status ? k.indexStatus(status) : k.indexAll()]
      : query.teams.map((t) => (status ? k.indexTeamStatus(t, status) : k.indexTeam(t)));
    const desc = (query.order ?? 'desc') === 'desc';
    const after = query.cursor ? decodeCursor(query.cursor) : null;
    if (query.cursor && !after) throw new AppError('INVALID_REQUEST', 'cursor is not valid');
    const n = query.limit + 1;
    const ranges = await Promise.all(indexes.map((key) => (desc
      ? this.redis.zrevrangebylex(key, after ? `(${after}` : '+', '-', 'LIMIT', 0, n)
      : this.redis.zrangebylex(key, after ? `(${after}` : '-', '+', 'LIMIT', 0, n))));
    const merged = [...new Set(ranges.flat())].sort();
    if (desc) merged.reverse();
    const page = merged.slice(0, query.limit);
    const next = merged.length > query.limit && page.length > 0 ? encodeCursor(page[page.length - 1]) : null;
    // Summaries straight from the records: no report is read for a list.
    const jsons = page.length ? await Promise.all(page.map((m) => this.redis.hget(k.request(memberId(m)), 'json'))) : [];
    const items = jsons.filter((j): j is string => j !== null).map((j) => requestSummary(parseStored(j)));
    return { items, next };
  }

  async count(team: string, status: RequestStatus): Promise<number> {
    return this.redis.zcard(this.keys.indexTeamStatus(team, status));
  }

  async claim(key: string, requestId: string): Promise<string | null> {
    const k = this.keys.claim(key);
    const ok = await this.redis.set(k, requestId, 'NX');
    if (ok === 'OK') return null;
    const holder = await this.redis.get(k);
    // The holder released it between our SET and GET: try once more.
    if (holder === null) return (await this.redis.set(k, requestId, 'NX')) === 'OK' ? null : this.redis.get(k);
    return holder === requestId ? null : holder;
  }

  async release(key: string, requestId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.keys.claim(key), requestId);
  }
}
