/**
 * Drift history (issue 15, Alerts page; `GET /v1/drift`): every approved tag seen moved
 * upstream, kept per team so the console and the API can show what `approval.drift` said.
 *
 * Redis, per team: a hash of entries (id → JSON), a sorted set of their ids by time, and a hash
 * "current" (approved tag → the upstream digest last recorded for it). One Lua script records
 * an entry only when the tag's current digest differs from the one seen now, so the same moved
 * tag seen by every drift run (or by two workers at once) is one entry until it moves again;
 * `settled` forgets the tag's current digest once upstream is back at the approved digest, so a
 * later move is a new entry. The same script trims: entries older than
 * `monitor.driftHistoryDays`, and beyond DRIFT_HISTORY_CAP per team the oldest ones.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { platformKey } from '../store/types';

/** At most this many entries are kept per team, however recent (a flapping upstream cannot fill Redis). */
export const DRIFT_HISTORY_CAP = 1000;
const DAY_MS = 86_400_000;

export interface DriftEntry {
  id: string;
  team: string;
  /** `registry/repository` of the approved image. */
  image: string;
  tag: string;
  platforms: string[];
  /** The upstream digest that was approved, and the one the tag names now. */
  fromDigest: string;
  toDigest: string;
  /** The approved (internal) digest and its request. */
  digest: string;
  approvedRequestId: string;
  /** ISO time the move was seen. */
  at: string;
  /** The request filed for the new digest (`monitor.autoRequest`). */
  requestId?: string;
}

export type DriftSeen = Omit<DriftEntry, 'id' | 'requestId'>;

// KEYS: entries hash, ids zset, current hash, teams set, links hash. ARGV: tag key, toDigest, id, json, at ms, oldest ms kept, cap, team.
const RECORD = `
if redis.call('HGET', KEYS[3], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[8])
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[6])
local n = redis.call('ZCARD', KEYS[2]) - #old - tonumber(ARGV[7])
if n > 0 then
  local extra = redis.call('ZRANGE', KEYS[2], #old, #old + n - 1)
  for _, id in ipairs(extra) do table.insert(old, id) end
end
for i = 1, #old, 500 do
  local part = {unpack(old, i, math.min(i + 499, #old))}
  redis.call('HDEL', KEYS[1], unpack(part))
  redis.call('HDEL', KEYS[5], unpack(part))
  redis.call('ZREM', KEYS[2], unpack(part))
end
return 1
`;

// KEYS: entries hash, links hash. ARGV: id, requestId. Links an entry that exists (it may have been trimmed) once.
const LINK = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
`;

export class RedisDriftHistory {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly keepDays: number, private readonly cap = DRIFT_HISTORY_CAP) {}

  private entries(team: string): string { return `${this.prefix}:drift-history:${team}`; }
  private ids(team: string): string { return `${this.prefix}:drift-history-at:${team}`; }
  private current(team: string): string { return `${this.prefix}:drift-history-current:${team}`; }
  private links(team: string): string { return `${this.prefix}:drift-history-links:${team}`; }
  private teamsKey(): string { return `${this.prefix}:drift-history-teams`; }
  private static tagKey(s: Pick<DriftSeen, 'image' | 'platforms' | 'tag'>): string { return `${s.image}|${platformKey(s.platforms)}|${s.tag}`; }

  /**
   * Records a move unless the tag's current recorded digest is already `toDigest`; returns the
   * entry's id and whether it was written now (false: an earlier run or another worker did).
   */
  async record(seen: DriftSeen): Promise<{ id: string; created: boolean }> {
    const tagKey = RedisDriftHistory.tagKey(seen);
    const at = Date.parse(seen.at);
    const id = createHash('sha256').update(`${tagKey}|${seen.fromDigest}|${seen.toDigest}|${seen.at}`).digest('hex').slice(0, 24);
    const entry: DriftEntry = { ...seen, id };
    const wrote = await this.redis.eval(RECORD, 5, this.entries(seen.team), this.ids(seen.team), this.current(seen.team), this.teamsKey(), this.links(seen.team),
      tagKey, seen.toDigest, id, JSON.stringify(entry), String(at), String(at - this.keepDays * DAY_MS), String(this.cap), seen.team);
    if (wrote === 1) return { id, created: true };
    return { id: (await this.latestFor(seen.team, tagKey, seen.toDigest)) ?? id, created: false };
  }

  /** Links the request filed for an entry (once). */
  async link(team: string, id: string, requestId: string): Promise<void> {
    await this.redis.eval(LINK, 2, this.entries(team), this.links(team), id, requestId);
  }

  /** The tag is back at its approved digest: a later move is a new entry. */
  async settled(s: Pick<DriftSeen, 'team' | 'image' | 'platforms' | 'tag'>): Promise<void> {
    await this.redis.hdel(this.current(s.team), RedisDriftHistory.tagKey(s));
  }

  /** The newest entries of these teams (`'*'`: every team with history), newest first. */
  async recent(teams: readonly string[] | '*', limit: number): Promise<DriftEntry[]> {
    const names = teams === '*' ? await this.redis.smembers(this.teamsKey()) : [...new Set(teams)];
    const per = await Promise.all(names.map(async (team) => {
      const ids = await this.redis.zrevrange(this.ids(team), 0, limit - 1);
      if (ids.length === 0) return [];
      const [rows, links] = await Promise.all([this.redis.hmget(this.entries(team), ...ids), this.redis.hmget(this.links(team), ...ids)]);
      return rows.flatMap((r, i) => {
        if (r === null) return [];
        const requestId = links[i];
        return [{ ...(JSON.parse(r) as DriftEntry), ...(requestId ? { requestId } : {}) }];
      });
    }));
    return per.flat().sort((a, b) => b.at.localeCompare(a.at) || a.id.localeCompare(b.id)).slice(0, limit);
  }

  /** The id of the newest entry for this tag and digest (a repeat's caller still links its request there). */
  private async latestFor(team: string, tagKey: string, toDigest: string): Promise<string | null> {
    const ids = await this.redis.zrevrange(this.ids(team), 0, 49);
    if (ids.length === 0) return null;
    const rows = await this.redis.hmget(this.entries(team), ...ids);
    for (const r of rows) {
      if (!r) continue;
      const e = JSON.parse(r) as DriftEntry;
      if (RedisDriftHistory.tagKey(e) === tagKey && e.toDigest === toDigest) return e.id;
    }
    return null;
  }
}

export interface DriftQuery {
  team?: string;
  limit: number;
}

/** Reads the history with the caller's rights: readers of a team see its entries; another team answers 404. */
export class DriftHistoryService {
  constructor(private readonly store: Pick<RedisDriftHistory, 'recent'>) {}

  async read(p: Principal, q: DriftQuery): Promise<DriftEntry[]> {
    if (!p.roles.some((r) => ['developer', 'approver', 'admin', 'auditor'].includes(r))) {
      throw new AppError('FORBIDDEN', 'reading drift needs one of the roles: developer, approver, admin, auditor');
    }
    const everyTeam = p.roles.includes('auditor') || p.teams.includes('*');
    if (q.team && !everyTeam && !p.teams.includes(q.team)) throw new AppError('NOT_FOUND', `team ${q.team} not found`);
    const teams = q.team ? [q.team] : everyTeam ? '*' : p.teams;
    return this.store.recent(teams, q.limit);
  }

  /** For a caller that has already narrowed the teams to the reader's (the console's readableTeams). */
  recent(teams: readonly string[] | '*', limit: number): Promise<DriftEntry[]> {
    return this.store.recent(teams, limit);
  }
}
