/**
 * Counts for the console's overview, straight from the request indexes (no record is read):
 * requests per status for a set of teams, and the teams that have requests at all (an admin or
 * auditor who reads every team picks one from this list).
 */
import type Redis from 'ioredis';
import { storeKeys, type StoreKeys } from './keys';
import { REQUEST_STATUSES, type RequestStatus } from './types';

export interface RequestStats {
  /** Requests per status over `teams` (`'*'`: every team). */
  countByStatus(teams: readonly string[] | '*'): Promise<Record<RequestStatus, number>>;
  /** Every team that has a request, sorted. */
  teams(): Promise<string[]>;
}

export class RedisRequestStats implements RequestStats {
  private readonly keys: StoreKeys;
  private cachedTeams: { at: number; teams: string[] } | null = null;

  /** @param teamsTtlMs how long the team list (a key scan) is reused. */
  constructor(private readonly redis: Redis, prefix: string, private readonly teamsTtlMs = 60_000) {
    this.keys = storeKeys(prefix);
  }

  async countByStatus(teams: readonly string[] | '*'): Promise<Record<RequestStatus, number>> {
    const pipe = this.redis.pipeline();
    for (const s of REQUEST_STATUSES) {
      if (teams === '*') pipe.zcard(this.keys.indexStatus(s));
      else for (const t of teams) pipe.zcard(this.keys.indexTeamStatus(t, s));
    }
    const results = (await pipe.exec()) ?? [];
    const per = teams === '*' ? 1 : teams.length;
    const out = {} as Record<RequestStatus, number>;
    REQUEST_STATUSES.forEach((s, i) => {
      let n = 0;
      for (let j = 0; j < per; j++) {
        const [err, v] = results[i * per + j] ?? [null, 0];
        if (err) throw err;
        n += Number(v);
      }
      out[s] = n;
    });
    return out;
  }

  async teams(): Promise<string[]> {
    const now = Date.now();
    if (this.cachedTeams && now - this.cachedTeams.at < this.teamsTtlMs) return this.cachedTeams.teams;
    const base = this.keys.indexTeam('');
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) found.add(k.slice(base.length));
    } while (cursor !== '0');
    const teams = [...found].sort();
    this.cachedTeams = { at: now, teams };
    return teams;
  }
}
