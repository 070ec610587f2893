/**
 * Break-glass exceptions in Redis: one hash (id → JSON) and a sorted set of expiries. Granting
 * or revoking one and its audit record are one script (the audit outbox, as every store change
 * here), so an exception never exists unrecorded. Expired entries stay listable for a day
 * (the dashboard shows what just ran out), then a later grant prunes them; the webhook ignores
 * them from their expiry on by its own clock, never by their presence here.
 */
import type Redis from 'ioredis';
import { ledgerVersionKey, storeKeys, writeWithVersion } from '../store';
import type { OutboxRecord } from '../store/types';
import type { AdmissionException } from './exceptions';

/** How long an expired exception stays listed before a grant prunes it. */
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;

// KEYS: hash, expiries, outbox. ARGV: id, JSON, expires ms, prune before ms, records…
const GRANT = `
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])) do
  redis.call('HDEL', KEYS[1], old)
  redis.call('ZREM', KEYS[2], old)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
for i = 5, #ARGV do redis.call('XADD', KEYS[3], '*', 'record', ARGV[i]) end
return 1
`;

// KEYS: hash, expiries, outbox. ARGV: id, expected JSON, records… Removes only the entry read.
const REVOKE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
for i = 3, #ARGV do redis.call('XADD', KEYS[3], '*', 'record', ARGV[i]) end
return 1
`;

function recordJson(r: OutboxRecord): string {
  return JSON.stringify({ actor: r.actor, action: r.action, target: r.target, details: r.details, at: r.at });
}

/** What the exception service and the webhook's loader need. */
export interface ExceptionStore {
  grant(e: AdmissionException, records: OutboxRecord[]): Promise<void>;
  get(id: string): Promise<AdmissionException | null>;
  /** Removes `id` if it is still `e` (with its records); whether it did. */
  revoke(e: AdmissionException, records: OutboxRecord[]): Promise<boolean>;
  /** Every stored exception (active or recently expired). */
  all(): Promise<AdmissionException[]>;
}

export class RedisExceptionStore implements ExceptionStore {
  private readonly hash: string;
  private readonly expiries: string;
  private readonly outbox: string;
  /** The ledger's version (store/ledger-version.ts): a grant or revocation moves it, so replicas reload. */
  private readonly version: string;
  /** The JSON each entry was read as, so that revoke removes exactly what was read. */
  private readonly read = new WeakMap<AdmissionException, string>();

  constructor(private readonly redis: Redis, prefix: string, private readonly now: () => number = Date.now) {
    this.hash = `${prefix}:admission:exceptions`;
    this.expiries = `${prefix}:admission:exceptions:expiry`;
    this.outbox = storeKeys(prefix).auditOutbox();
    this.version = ledgerVersionKey(prefix);
  }

  async grant(e: AdmissionException, records: OutboxRecord[]): Promise<void> {
    await writeWithVersion(this.redis, this.version, (m) => m.eval(GRANT, 3, this.hash, this.expiries, this.outbox,
      e.id, JSON.stringify(e), String(Date.parse(e.expires)), String(this.now() - KEEP_EXPIRED_MS), ...records.map(recordJson)));
  }

  private parse(json: string): AdmissionException {
    const e = JSON.parse(json) as AdmissionException;
    this.read.set(e, json);
    return e;
  }

  async get(id: string): Promise<AdmissionException | null> {
    const json = await this.redis.hget(this.hash, id);
    return json ? this.parse(json) : null;
  }

  async revoke(e: AdmissionException, records: OutboxRecord[]): Promise<boolean> {
    const json = this.read.get(e) ?? JSON.stringify(e);
    const done = await writeWithVersion(this.redis, this.version, (m) => m.eval(REVOKE, 3, this.hash, this.expiries, this.outbox, e.id, json, ...records.map(recordJson)));
    return Number(done) === 1;
  }

  async all(): Promise<AdmissionException[]> {
    return Object.values(await this.redis.hgetall(this.hash)).map((json) => this.parse(json));
  }
}
