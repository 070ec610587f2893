/**
 * The health records in Redis, one hash per approval (`v` = version, `json`), with three
 * indexes changed in the same Lua script as the record: the at-risk deadlines (a sorted set the
 * sweep reads), the re-reviews waiting for approvers, and a summary hash (state and severities
 * per approval) that the metrics read at scrape time. The audit records of a transition are
 * appended to the audit outbox in that script too, so a health change and its record exist
 * together or not at all.
 */
import type Redis from 'ioredis';
import { platformKey, storeKeys, type OutboxRecord, type StoreKeys } from '../store';
import { severestBlocking } from './assess';
import { approvalKeyString, type ApprovalKey, type HealthRecord, type HealthState, type MaxSeverity } from './types';

/** What the metrics need of one approval. */
export interface HealthSummary {
  team: string;
  state: HealthState;
  maxSeverity: MaxSeverity;
  /** The severest blocking finding's severity, when at risk. */
  riskSeverity?: string;
}

export interface HealthStore {
  get(key: ApprovalKey): Promise<HealthRecord | null>;
  getMany(keys: readonly ApprovalKey[]): Promise<Array<HealthRecord | null>>;
  /**
   * Saves `next` if the stored version is still `expected` (0: none stored), with `records` in
   * the audit outbox, in one script. Returns whether it saved (false: someone saved first).
   */
  save(next: HealthRecord, expected: number, records: readonly OutboxRecord[]): Promise<boolean>;
  /** Keys of at-risk approvals whose deadline is at or before `atMs`, earliest first. */
  due(atMs: number, limit: number): Promise<ApprovalKey[]>;
  /** Keys of approvals waiting for a re-review, oldest first. */
  reviews(limit: number): Promise<ApprovalKey[]>;
  /** State and severities of every approval not revoked, for the gauges. */
  summaries(): Promise<HealthSummary[]>;
  /** The digest `tag` of the scope named when it was revoked (written by the revocation's script, kept 90 days), or null. */
  revokedTag(scope: { team: string; image: string; platforms: readonly string[] }, tag: string): Promise<string | null>;
  /** True the first time it is called for `id` within a day (UTC), false after: alerts at most daily. */
  once(id: string, day: string): Promise<boolean>;
}

// KEYS: record, deadlines, reviews, summary, outbox. ARGV: expected, version, json, member,
// deadline ms ('' = none), review since ms ('' = none), summary json ('' = remove), records…
const SAVE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'json', ARGV[3])
if ARGV[5] == '' then redis.call('ZREM', KEYS[2], ARGV[4]) else redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4]) end
if ARGV[6] == '' then redis.call('ZREM', KEYS[3], ARGV[4]) else redis.call('ZADD', KEYS[3], ARGV[6], ARGV[4]) end
if ARGV[7] == '' then redis.call('HDEL', KEYS[4], ARGV[4]) else redis.call('HSET', KEYS[4], ARGV[4], ARGV[7]) end
for i = 8, #ARGV do redis.call('XADD', KEYS[5], '*', 'record', ARGV[i]) end
return 1
`;

function parseMember(member: string): ApprovalKey {
  const [team, image, digest] = member.split('|');
  return { team, image, digest };
}

export class RedisHealthStore implements HealthStore {
  private readonly k: { record(m: string): string; deadlines: string; reviews: string; summary: string; outbox: string; once(id: string): string; revokedTag: StoreKeys['revokedTag'] };

  constructor(private readonly redis: Redis, prefix: string) {
    this.k = {
      record: (m) => `${prefix}:health:rec:${m}`,
      deadlines: `${prefix}:health:deadlines`,
      reviews: `${prefix}:health:reviews`,
      summary: `${prefix}:health:summary`,
      // The audit outbox (BOARD contract: field `record`, JSON {actor, action, target, details, at}).
      outbox: `${prefix}:audit:outbox`,
      once: (id) => `${prefix}:health:once:${id}`,
      // Written by the revocation's own script (../store/redis-revocations.ts), read here.
      revokedTag: storeKeys(prefix).revokedTag,
    };
  }

  async get(key: ApprovalKey): Promise<HealthRecord | null> {
    return (await this.getMany([key]))[0];
  }

  async getMany(keys: readonly ApprovalKey[]): Promise<Array<HealthRecord | null>> {
    if (keys.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const key of keys) pipe.hmget(this.k.record(approvalKeyString(key)), 'v', 'json');
    const rows = (await pipe.exec()) ?? [];
    return rows.map(([err, value]) => {
      if (err) throw err;
      const [v, json] = value as [string | null, string | null];
      return json ? { ...(JSON.parse(json) as HealthRecord), version: Number(v) } : null;
    });
  }

  async save(next: HealthRecord, expected: number, records: readonly OutboxRecord[]): Promise<boolean> {
    const member = approvalKeyString(next);
    const version = expected + 1;
    const summary: HealthSummary = { team: next.team, state: next.state, maxSeverity: next.maxSeverity, ...(next.state === 'at_risk' ? { riskSeverity: severestBlocking(next.blocking) } : {}) };
    const ok = await this.redis.eval(SAVE, 5,
      this.k.record(member), this.k.deadlines, this.k.reviews, this.k.summary, this.k.outbox,
      String(expected), String(version), JSON.stringify({ ...next, version }), member,
      next.state === 'at_risk' && next.deadline ? String(Date.parse(next.deadline)) : '',
      next.state === 'at_risk' && next.review ? String(Date.parse(next.review.since)) : '',
      next.state === 'revoked' ? '' : JSON.stringify(summary),
      ...records.map((r) => JSON.stringify(r)));
    return ok === 1;
  }

  async due(atMs: number, limit: number): Promise<ApprovalKey[]> {
    return (await this.redis.zrangebyscore(this.k.deadlines, '-inf', atMs, 'LIMIT', 0, limit)).map(parseMember);
  }

  async reviews(limit: number): Promise<ApprovalKey[]> {
    return (await this.redis.zrange(this.k.reviews, '0', String(limit - 1))).map(parseMember);
  }

  async summaries(): Promise<HealthSummary[]> {
    return Object.values(await this.redis.hgetall(this.k.summary)).map((json) => JSON.parse(json) as HealthSummary);
  }

  async revokedTag(scope: { team: string; image: string; platforms: readonly string[] }, tag: string): Promise<string | null> {
    return this.redis.get(this.k.revokedTag(scope.team, scope.image, platformKey(scope.platforms), tag));
  }

  async once(id: string, day: string): Promise<boolean> {
    return (await this.redis.set(this.k.once(`${id}|${day}`), '1', 'EX', 2 * 86400, 'NX')) === 'OK';
  }
}
