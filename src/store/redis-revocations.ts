/**
 * The deny-list in Redis: one hash per team and digest, field `*` (every image name) or an
 * image name → the revocation as JSON. Adding or lifting an entry and its audit records are
 * one script, so the deny-list never changes unrecorded. A revocation's script also takes the
 * approvals out of the ledger and records what is left to do (requests' states, registry
 * deletes) as an intent in `revocation-intents` (id → JSON), removed once done; each tag it
 * drops from the ledger keeps the revoked digest (`revokedTag`) in that same script.
 *
 * The images an automatic revocation kept (`keepImage`) are a record of their own, a hash
 * `kept-images:{team}|{digest}` (internal repository → JSON), outside the deny-list hash, whose
 * every field the ledger snapshot and admission read as a deny entry; lifting an entry leaves it,
 * so that an admin's later revoke still finds and deletes them. A revoke compares both hashes with
 * what its caller read ({@link RedisRevocationStore.read}) and writes nothing when either changed.
 */
import type Redis from 'ioredis';
import type { ConfirmWrite } from '../lib/redis';
import { REVOKED_TAG_TTL_S, storeKeys, type StoreKeys } from './keys';
import { ledgerVersionKey, writeWithVersion } from './ledger-version';
import { removalKeys } from './redis-approvals';
import { platformKey, type Approval, type KeptImage, type OutboxRecord, type Revocation, type RevocationIntent, type RevocationRead, type RevocationStore, type RevokeChange } from './types';

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

// The state a revoke compares (KEYS[1] the deny entry, KEYS[4] the kept images): each hash's
// fields and values, sorted, so that the same contents give the same string whatever their order.
const STATE = `
local function state()
  local out = {}
  for _, key in ipairs({ KEYS[1], KEYS[4] }) do
    local h, parts = redis.call('HGETALL', key), {}
    for i = 1, #h, 2 do parts[#parts + 1] = h[i] .. '\\n' .. h[i + 1] end
    table.sort(parts)
    out[#out + 1] = table.concat(parts, '\\n')
  end
  return table.concat(out, '\\n\\n')
end
`;

// KEYS: deny entry, outbox, intents, kept images. Returns the state and both hashes.
const READ = `${STATE}
return { state(), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[4]) }
`;

// KEYS: deny entry, outbox, intents, kept images, then per approval its removalKeys
// (redis-approvals.ts), the revoked-tag key of each of its tags (same order as its tags, which
// lead its owned keys) and the revoked-tag key of its internal repository's tag. ARGV: field,
// JSON, intent id, intent JSON, whether to compare ('1'/'0'), the state read (READ), n kept to
// add, per kept repository and JSON, n kept to clear, their repositories, n records, records…,
// then per approval: number of its owned index keys, digest, image, number of its tags,
// revoked-tag TTL (s), which tag the internal one is (1-based; 0: none of them, the `digest-…`
// tag of a digest-only approval, which names this digest alone; -1: none kept). Returns 0,
// writing nothing, when the deny entry or the kept images changed since the caller read them.
// The approval part is redis-approvals.ts's REMOVE, per approval, plus: a tag entry dropped here
// leaves its revoked digest in the same step, so that CI's lookup by that tag finds the approval
// or the revocation, never neither (it says REVOKED from the moment it stops answering the
// approval); the internal tag is kept with the source tag it was promoted from, so that the
// webhook says REVOKED for a Pod naming either form.
const REVOKE = `${STATE}
if ARGV[5] == '1' and state() ~= ARGV[6] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
local a = 7
local nkeep = tonumber(ARGV[a])
for i = 1, nkeep do redis.call('HSET', KEYS[4], ARGV[a + 2 * i - 1], ARGV[a + 2 * i]) end
a = a + 2 * nkeep + 1
local nclear = tonumber(ARGV[a])
for i = 1, nclear do redis.call('HDEL', KEYS[4], ARGV[a + i]) end
a = a + nclear + 1
local nrec = tonumber(ARGV[a])
for i = 1, nrec do redis.call('XADD', KEYS[2], '*', 'record', ARGV[a + i]) end
a = a + nrec + 1
local k = 5
while a <= #ARGV do
  local owned, digest, image, ntags, ttl, itag = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 4], tonumber(ARGV[a + 5])
  local internal = KEYS[k + 4 + owned + ntags]
  local member = redis.call('HGET', KEYS[k], 'member')
  if member and member ~= '' then redis.call('ZREM', KEYS[k + 3], member) end
  redis.call('DEL', KEYS[k], KEYS[k + 2])
  redis.call('SREM', KEYS[k + 1], image)
  for j = k + 4, k + 3 + owned do
    if redis.call('GET', KEYS[j]) == digest then
      redis.call('DEL', KEYS[j])
      local t = j - (k + 4)
      if t < ntags then redis.call('SET', KEYS[k + 4 + owned + t], digest, 'EX', ttl) end
      if t + 1 == itag then redis.call('SET', internal, digest, 'EX', ttl) end
    end
  end
  if itag == 0 then redis.call('SET', internal, digest, 'EX', ttl) end
  k, a = k + 5 + owned + ntags, a + 6
end
return 1
`;

const ALL = '*';

/** The REVOKE script's `itag` for `a` (see there): its internal tag's place among its tags. */
function internalTagIndex(a: Approval): number {
  const at = a.tags.indexOf(a.internalTag);
  if (at >= 0) return at + 1;
  return a.tags.length === 0 && a.internalTag ? 0 : -1;
}

function recordJson(r: OutboxRecord): string {
  return JSON.stringify({ actor: r.actor, action: r.action, target: r.target, details: r.details, at: r.at });
}

export class RedisRevocationStore implements RevocationStore {
  private readonly keys: StoreKeys;

  private readonly confirm: ConfirmWrite;
  private readonly intentsKey: string;
  /** Incremented with every deny-list write (ledger-version.ts): webhook replicas reload only when it moved. */
  private readonly version: string;

  /** `confirm`: run after adding or lifting an entry, before it is reported done (replicas, lib/redis.ts). */
  constructor(private readonly redis: Redis, prefix: string, options: { confirm?: ConfirmWrite } = {}) {
    this.keys = storeKeys(prefix);
    this.intentsKey = `${prefix}:revocation-intents`;
    this.version = ledgerVersionKey(prefix);
    this.confirm = options.confirm ?? (async () => undefined);
  }

  async add(entry: Revocation, records: OutboxRecord[]): Promise<void> {
    await writeWithVersion(this.redis, this.version, (m) => m.eval(ADD, 2, this.keys.revoked(entry.team, entry.digest), this.keys.auditOutbox(),
      entry.image ?? ALL, JSON.stringify(entry), ...records.map(recordJson)));
    await this.confirm();
  }

  private scriptKeys(team: string, digest: string): string[] {
    return [this.keys.revoked(team, digest), this.keys.auditOutbox(), this.intentsKey, this.keys.keptImages(team, digest)];
  }

  async read(team: string, digest: string): Promise<RevocationRead> {
    const [seen, entries, kept] = await this.redis.eval(READ, 4, ...this.scriptKeys(team, digest)) as [string, string[], string[]];
    const values = (flat: string[]) => flat.filter((_, i) => i % 2 === 1);
    return { seen, entries: values(entries).map((json) => JSON.parse(json) as Revocation), kept: values(kept).map((json) => JSON.parse(json) as KeptImage) };
  }

  async revoke(entry: Revocation, approvals: Approval[], records: OutboxRecord[], intent: RevocationIntent, change: RevokeChange = {}): Promise<boolean> {
    const keys = this.scriptKeys(entry.team, entry.digest);
    const keep = change.keep ?? [];
    const clear = change.clear ?? [];
    const args = [
      entry.image ?? ALL, JSON.stringify(entry), intent.id, JSON.stringify(intent), change.seen === undefined ? '0' : '1', change.seen ?? '',
      String(keep.length), ...keep.flatMap((k) => [k.repository, JSON.stringify(k)]),
      String(clear.length), ...clear,
      String(records.length), ...records.map(recordJson),
    ];
    for (const a of approvals) {
      const removal = removalKeys(this.keys, a);
      const platforms = platformKey(a.platforms);
      const internalName = a.internalRef.split('@')[0];
      keys.push(...removal, ...a.tags.map((tag) => this.keys.revokedTag(a.team, a.image, platforms, tag)), this.keys.revokedTag(a.team, internalName, platforms, a.internalTag));
      args.push(String(removal.length - 4), a.digest, a.image, String(a.tags.length), String(REVOKED_TAG_TTL_S), String(internalTagIndex(a)));
    }
    const done = await writeWithVersion(this.redis, this.version, (m) => m.eval(REVOKE, keys.length, ...keys, ...args));
    if (Number(done) !== 1) return false;
    await this.confirm();
    return true;
  }

  async intents(): Promise<RevocationIntent[]> {
    const all = Object.values(await this.redis.hgetall(this.intentsKey)).map((json) => JSON.parse(json) as RevocationIntent);
    return all.sort((x, y) => x.at.localeCompare(y.at));
  }

  async completed(id: string): Promise<void> {
    await this.redis.hdel(this.intentsKey, id);
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
      const done = await writeWithVersion(this.redis, this.version, (m) => m.eval(REMOVE, 2, key, this.keys.auditOutbox(), image ?? ALL, json, ...records(lifted).map(recordJson)));
      if (Number(done) === 1) {
        await this.confirm();
        return lifted;
      }
    }
    return null;
  }
}
