/**
 * The deny-list in Redis: one hash per team and digest, field `*` (every image name) or an
 * image name → the revocation as JSON. Adding or lifting an entry and its audit records are
 * one script, so the deny-list never changes unrecorded.
 */
import type Redis from 'ioredis';
import { storeKeys, type StoreKeys } from './keys';
import type { OutboxRecord, Revocation, RevocationStore } from './types';

// KEYS: deny entry, outbox. ARGV: field, JSON, records…
const ADD = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 3, #ARGV do redis.call('XADD', KEYS[2], '*', 'record', ARGV[i]) end
return 1
`;

// KEYS: deny entry, outbox. ARGV: field, expected JSON, records… Lifts only the entry read.
const REMOVE = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #ARGV do redis.call('XADD', KEYS[2], '*', 'record', ARGV[i]) end
return 1
`;

const ALL = '*';

function recordJson(r: OutboxRecord): string {
  return JSON.stringify({ actor: r.actor, action: r.action, target: r.target, details: r.details, at: r.at });
}

export class RedisRevocationStore implements RevocationStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async add(entry: Revocation, records: OutboxRecord[]): Promise<void> {
    await this.redis.eval(ADD, 2, this.keys.revoked(entry.team, entry.digest), this.keys.auditOutbox(),
      entry.image ?? ALL, JSON.stringify(entry), ...records.map(recordJson));
  }

  async find(team: string, image: string, digest: string): Promise<Revocation | null> {
    const [all, named] = await this.redis.hmget(this.keys.revoked(team, digest), ALL, image);
    const json = all ?? named;
    return json ? (JSON.parse(json) as Revocation) : null;
  }

  async remove(team: string, digest: string, image: string | undefined, records: (lifted: Revocation) => OutboxRecord[]): Promise<Revocation | null> {
    const key = this.keys.revoked(team, digest);
    for (let attempt = 0; attempt < 5; attempt++) {
      const json = await this.redis.hget(key, image ?? ALL);
      if (!json) return null;
      const lifted = JSON.parse(json) as Revocation;
      const done = await this.redis.eval(REMOVE, 2, key, this.keys.auditOutbox(), image ?? ALL, json, ...records(lifted).map(recordJson));
      if (Number(done) === 1) return lifted;
    }
    return null;
  }
}
