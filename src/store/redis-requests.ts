/**
 * Requests in Redis: one hash per request (`v` = version, `json` = the record), sorted-set
 * indexes per team, status and team+status, and claim keys for dedup. A save is one Lua
 * script, so the record and its indexes never disagree and a concurrent save is detected
 * (compare-and-set on the version) instead of silently lost.
 */
import type Redis from 'ioredis';
import { AppError } from '../lib/errors';
import { decodeCursor, encodeCursor, indexMember, memberId, storeKeys, type StoreKeys } from './keys';
import type { IntakeRequest, ListQuery, Page, RequestStatus, RequestStore } from './types';

// KEYS: request, all, team, oldStatus, oldTeamStatus, newStatus, newTeamStatus
// ARGV: expected version, new version, json, member
const SAVE = `
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'json', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[4])
redis.call('ZREM', KEYS[4], ARGV[4])
redis.call('ZREM', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[6], 0, ARGV[4])
redis.call('ZADD', KEYS[7], 0, ARGV[4])
return 1
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

const MAX_CONFLICT_RETRIES = 20;

export class RedisRequestStore implements RequestStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async create(request: IntakeRequest): Promise<void> {
    const saved = await this.save({ ...request, version: 1 }, 0, request.status);
    if (!saved) throw new AppError('CONFLICT', `request ${request.id} already exists`);
  }

  async get(id: string): Promise<IntakeRequest | null> {
    const json = await this.redis.hget(this.keys.request(id), 'json');
    if (!json) return null;
    const r = JSON.parse(json) as Partial<IntakeRequest> & Omit<IntakeRequest, 'waivers'>;
    // Records saved before waivers existed have none.
    return { ...r, waivers: r.waivers ?? [] };
  }

  async update(id: string, change: (current: IntakeRequest) => IntakeRequest | null): Promise<IntakeRequest> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const current = await this.get(id);
      if (!current) throw new AppError('NOT_FOUND', `request ${id} not found`);
      const next = change(structuredClone(current));
      if (!next) return current;
      const saved = { ...next, id: current.id, team: current.team, createdAt: current.createdAt, version: current.version + 1 };
      if (await this.save(saved, current.version, current.status)) return saved;
    }
    throw new AppError('CONFLICT', `request ${id} is being changed concurrently; try again`, { temporary: true });
  }

  private async save(request: IntakeRequest, expectedVersion: number, oldStatus: string): Promise<boolean> {
    const k = this.keys;
    const member = indexMember(request.createdAt, request.id);
    const result = await this.redis.eval(SAVE, 7,
      k.request(request.id), k.indexAll(), k.indexTeam(request.team),
      k.indexStatus(oldStatus), k.indexTeamStatus(request.team, oldStatus),
      k.indexStatus(request.status), k.indexTeamStatus(request.team, request.status),
      String(expectedVersion), String(request.version), JSON.stringify(request), member);
    return result === 1;
  }

  async list(query: ListQuery): Promise<Page<IntakeRequest>> {
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
    const items = (await Promise.all(page.map((m) => this.get(memberId(m))))).filter((r): r is IntakeRequest => r !== null);
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
