/**
 * Daily snapshots in Redis: per team a hash (UTC day → JSON) and a sorted set of its days
 * (score = the day's epoch ms), written and trimmed in one script. A day's snapshot is written
 * once (HSETNX): the job may run more often than daily, and a second worker or a retry of the
 * same day changes nothing.
 */
import type Redis from 'ioredis';
import type { SeveritySummary } from '../scanners/types';
import type { RequestStatus } from '../store/types';

export interface TeamSnapshot {
  team: string;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  generatedAt: string;
  /** Requests of the team in each state now. */
  requests: Record<RequestStatus, number>;
  approved: {
    images: number;
    /** Distinct vulnerability ids per severity over the approved images. */
    uniqueCves: SeveritySummary;
    /** Vulnerability findings per severity, counted once per image. */
    instances: SeveritySummary;
  };
  atRisk: { total: number; bySeverity: SeveritySummary };
  /** Mean seconds from request to final decision, over the decisions made that day; null when none. */
  meanTimeToDecisionSeconds: number | null;
  decisions: number;
}

// KEYS: hash, days. ARGV: day, json, day ms, oldest ms kept.
const WRITE = `
local wrote = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if wrote == 1 then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
if #old > 0 then
  redis.call('HDEL', KEYS[1], unpack(old))
  redis.call('ZREM', KEYS[2], unpack(old))
end
return wrote
`;

export class RedisSnapshotStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private hash(team: string): string { return `${this.prefix}:snapshots:${team}`; }
  private days(team: string): string { return `${this.prefix}:snapshot-days:${team}`; }

  /** Writes the day's snapshot unless one exists, and drops days older than `keepFromMs`; true when written now. */
  async write(s: TeamSnapshot, keepFromMs: number): Promise<boolean> {
    const ok = await this.redis.eval(WRITE, 2, this.hash(s.team), this.days(s.team), s.day, JSON.stringify(s), String(Date.parse(`${s.day}T00:00:00Z`)), String(keepFromMs));
    return ok === 1;
  }

  /** The team's snapshots from `fromMs` on, oldest first. */
  async read(team: string, fromMs: number): Promise<TeamSnapshot[]> {
    const days = await this.redis.zrangebyscore(this.days(team), fromMs, '+inf');
    if (days.length === 0) return [];
    const rows = await this.redis.hmget(this.hash(team), ...days);
    return rows.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as TeamSnapshot);
  }

  /** Teams that have snapshots. */
  async teams(): Promise<string[]> {
    return this.scanSuffixes(`${this.prefix}:snapshot-days:`);
  }

  /** Teams with requests or approvals (the request index per team, the approved inventory per team). */
  async activeTeams(): Promise<string[]> {
    const teams = new Set([...await this.scanSuffixes(`${this.prefix}:idx:team:`), ...await this.scanSuffixes(`${this.prefix}:approvals:`)]);
    return [...teams].sort();
  }

  private async scanSuffixes(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      out.push(...keys.map((k) => k.slice(prefix.length)));
      cursor = next;
    } while (cursor !== '0');
    return [...new Set(out)].filter((t) => t.length > 0 && !t.includes(':')).sort();
  }
}
