/**
 * The approved-digest ledger in Redis. An approval's identity is (team, image, digest): one
 * hash per approval (`json` = the record, `member` = its entry in the team's inventory), the
 * source tags given to it in a set beside it, a tag index per (team, image, platform set, tag)
 * → digest, a source index per (team, image, platform set, upstream digest) → digest for
 * images that staging changed (a re-encoding mover, a platform selection), the images holding
 * a digest per team (revocation by digest), and the team's inventory as a sorted set.
 *
 * The tag index is written only by {@link RedisApprovalStore.addTag}, one tag at a time, never
 * by `put`: re-saving an older approval must not re-point a tag that a newer approval owns.
 */
import type Redis from 'ioredis';
import { AppError } from '../lib/errors';
import type { ConfirmWrite } from '../lib/redis';
import { encodeCursor, storeKeys, type StoreKeys } from './keys';
import { ledgerVersionKey, writeWithVersion } from './ledger-version';
import { platformKey, servesScope, type Approval, type ApprovalScope, type ApprovalStore, type ExpectedApproval, type LookedUpApproval, type Page, type Revocation } from './types';

// The record's write, shared by PUT and COMPLETE. KEYS: approval, images of the digest, tags,
// source entry, team inventory. ARGV: json, image, inventory member ('' while pending), digest,
// write source ('1'/'0'); the tags from ARGV[first] on.
const SAVE = `
local function save(first)
  local old = redis.call('HGET', KEYS[1], 'member')
  if old and old ~= '' then redis.call('ZREM', KEYS[5], old) end
  redis.call('HSET', KEYS[1], 'json', ARGV[1], 'member', ARGV[3])
  redis.call('SADD', KEYS[2], ARGV[2])
  for i = first, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
  if ARGV[5] == '1' then redis.call('SET', KEYS[4], ARGV[4]) end
  if ARGV[3] ~= '' then redis.call('ZADD', KEYS[5], 0, ARGV[3]) end
end
`;

// KEYS and ARGV: SAVE's, the tags from ARGV[6].
const PUT = `${SAVE}
save(6)
return 1
`;

// A promotion's completed entry (see RedisApprovalStore.complete). KEYS: SAVE's, then the
// request, the team's deny entry of the digest. ARGV: SAVE's five, then the expected record's
// request id, approval time and pending flag ('1'/'0'), the state the request must be in, the
// tags from ARGV[10]. Answers 1 written; 0 the record is not the expected one (a revocation or a
// withdrawal removed it); -1 the digest is denied to the image; -2 the request moved on. The
// request's status is field 's'; records saved before it have only 'json' (redis-requests.ts).
const COMPLETE = `${SAVE}
local cur = redis.call('HGET', KEYS[1], 'json')
if not cur then return 0 end
local rec = cjson.decode(cur)
if rec.requestId ~= ARGV[6] or rec.approvedAt ~= ARGV[7] or ((rec.pending == true) ~= (ARGV[8] == '1')) then return 0 end
if redis.call('HEXISTS', KEYS[7], '*') == 1 or redis.call('HEXISTS', KEYS[7], ARGV[2]) == 1 then return -1 end
local s = redis.call('HGET', KEYS[6], 's')
if not s then
  local req = redis.call('HGET', KEYS[6], 'json')
  s = req and cjson.decode(req).status or ''
end
if s ~= ARGV[9] then return -2 end
save(10)
return 1
`;

// KEYS: approval, images of the digest, tags, team inventory, then index entries (tag, source)
// ARGV: digest, image. An index entry goes only while it still points at this digest.
const REMOVE = `
local member = redis.call('HGET', KEYS[1], 'member')
if member and member ~= '' then redis.call('ZREM', KEYS[4], member) end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('SREM', KEYS[2], ARGV[2])
for i = 5, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
return 1
`;

// CI's lookup, one round trip. KEYS: tag entry ('' for a digest lookup). ARGV: approval key
// stem, tags key stem, source key stem (each ends where the digest goes), digest ('' for a tag),
// the team's deny entry stem (ends where the digest goes), the image name.
// Returns {digest, json, tags, staged digest, its json, its tags, the deny entry of the digest,
// that of the staged digest} (each entry the one for every name, else the image's, else ''); the
// caller decides which one serves, and refuses it when its digest is denied. The approval keys
// hang off a digest read here, so they cannot all be declared in KEYS: fine on one Redis and
// under Sentinel (the deployments we support), not on Redis Cluster.
const LOOKUP = `
local digest = ARGV[4]
if digest == '' then
  digest = redis.call('GET', KEYS[1])
  if not digest then return false end
end
local function denied(d)
  local all, named = unpack(redis.call('HMGET', ARGV[5] .. d, '*', ARGV[6]))
  return all or named or ''
end
local json = redis.call('HGET', ARGV[1] .. digest, 'json') or ''
local tags = json ~= '' and redis.call('SMEMBERS', ARGV[2] .. digest) or {}
local staged = redis.call('GET', ARGV[3] .. digest) or ''
local sjson, stags, sdeny = '', {}, ''
if staged ~= '' then
  sjson = redis.call('HGET', ARGV[1] .. staged, 'json') or ''
  if sjson ~= '' then stags = redis.call('SMEMBERS', ARGV[2] .. staged) end
  sdeny = denied(staged)
end
return {digest, json, tags, staged, sjson, stags, denied(digest), sdeny}
`;

type LookupReply = [string, string, string[], string, string, string[], string, string] | null;

/** The approval as the lookup answers it: with the deny entry that covers its digest, if one does. */
function withDenial(a: Approval, denied: string): LookedUpApproval {
  return denied ? { ...a, revoked: JSON.parse(denied) as Revocation } : a;
}

function approvalOf(json: string, tags: string[]): Approval | null {
  if (!json) return null;
  const a = JSON.parse(json) as Approval;
  return { ...a, platforms: a.platforms ?? [], tags: [...new Set([...a.tags, ...tags])].sort() };
}

/**
 * The keys {@link REMOVE} takes for `existing`: its record, the images of its digest, its tags,
 * the team inventory, then the index entries it may own (a tag entry that a newer approval
 * re-pointed belongs to that approval and stays; so does a source entry that another approval
 * of the same upstream digest re-pointed: the script checks). Revocation removes with these too.
 */
export function removalKeys(k: StoreKeys, existing: Approval): string[] {
  const { team, image, digest } = existing;
  const platforms = platformKey(existing.platforms);
  const owned = existing.tags.map((tag) => k.approvedTag(team, image, platforms, tag));
  if (existing.sourceDigest) owned.push(k.approvalSource(team, image, platforms, existing.sourceDigest));
  return [k.approval(team, image, digest), k.approvalImages(team, digest), k.approvalTags(team, image, digest), k.approvalsByTeam(team), ...owned];
}

const INVENTORY_MEMBER = /^\d{15}\|\S+@sha256:[a-f0-9]{64}$/;

function inventoryMember(a: Approval): string {
  return `${String(Date.parse(a.approvedAt)).padStart(15, '0')}|${a.image}@${a.digest}`;
}

export class RedisApprovalStore implements ApprovalStore {
  private readonly keys: StoreKeys;
  private readonly redis: Redis & { portcullisApprovalLookup(...args: string[]): Promise<unknown> };

  private readonly confirm: ConfirmWrite;
  /** Incremented with every write (ledger-version.ts): webhook replicas reload only when it moved. */
  private readonly version: string;

  /** `confirm`: run after every ledger write, before it is reported done (replicas, lib/redis.ts). */
  constructor(redis: Redis, prefix: string, options: { confirm?: ConfirmWrite } = {}) {
    this.keys = storeKeys(prefix);
    this.version = ledgerVersionKey(prefix);
    this.confirm = options.confirm ?? (async () => undefined);
    // defineCommand: EVALSHA, EVAL once per connection when the script is not cached yet.
    if (!('portcullisApprovalLookup' in redis)) redis.defineCommand('portcullisApprovalLookup', { numberOfKeys: 1, lua: LOOKUP });
    this.redis = redis as RedisApprovalStore['redis'];
  }

  /** SAVE's keys and first five arguments for `a` (its tags follow). */
  private saveArgs(a: Approval): { keys: string[]; args: string[] } {
    const k = this.keys;
    const platforms = platformKey(a.platforms);
    const record: Approval = { ...a, platforms: platforms === '*' ? [] : platforms.split(',') };
    const source = Boolean(a.sourceDigest && a.sourceDigest !== a.digest);
    return {
      keys: [k.approval(a.team, a.image, a.digest), k.approvalImages(a.team, a.digest), k.approvalTags(a.team, a.image, a.digest),
        k.approvalSource(a.team, a.image, platforms, a.sourceDigest ?? a.digest), k.approvalsByTeam(a.team)],
      args: [JSON.stringify(record), a.image, a.pending ? '' : inventoryMember(a), a.digest, source ? '1' : '0'],
    };
  }

  async put(a: Approval): Promise<void> {
    const { keys, args } = this.saveArgs(a);
    await writeWithVersion(this.redis, this.version, (m) => m.eval(PUT, keys.length, ...keys, ...args, ...a.tags));
    await this.confirm();
  }

  async complete(a: Approval, expected: ExpectedApproval): Promise<boolean> {
    const { keys, args } = this.saveArgs({ ...a, pending: undefined });
    const guards = [this.keys.request(a.requestId), this.keys.revoked(a.team, a.digest)];
    const expect = [expected.requestId, expected.approvedAt, expected.pending ? '1' : '0', 'promoting'];
    const done = await writeWithVersion(this.redis, this.version, (m) => m.eval(COMPLETE, keys.length + guards.length, ...keys, ...guards, ...args, ...expect, ...a.tags));
    if (Number(done) !== 1) return false;
    await this.confirm();
    return true;
  }

  async addTag(scope: ApprovalScope, tag: string, digest: string): Promise<void> {
    const k = this.keys;
    await writeWithVersion(this.redis, this.version, (m) => m
      .set(k.approvedTag(scope.team, scope.image, platformKey(scope.platforms), tag), digest)
      .sadd(k.approvalTags(scope.team, scope.image, digest), tag));
    await this.confirm();
  }

  async get(team: string, image: string, digest: string): Promise<Approval | null> {
    const [json, tags] = await Promise.all([
      this.redis.hget(this.keys.approval(team, image, digest), 'json'), this.redis.smembers(this.keys.approvalTags(team, image, digest)),
    ]);
    return approvalOf(json ?? '', tags);
  }

  async lookup(scope: ApprovalScope, ref: { tag: string } | { digest: string }): Promise<LookedUpApproval | null> {
    const k = this.keys;
    const platforms = platformKey(scope.platforms);
    const reply = (await this.redis.portcullisApprovalLookup(
      'tag' in ref ? k.approvedTag(scope.team, scope.image, platforms, ref.tag) : '',
      k.approval(scope.team, scope.image, ''), k.approvalTags(scope.team, scope.image, ''), k.approvalSource(scope.team, scope.image, platforms, ''),
      'digest' in ref ? ref.digest : '', k.revoked(scope.team, ''), scope.image)) as LookupReply;
    if (!reply) return null;
    const [digest, json, tags, staged, stagedJson, stagedTags, denied, stagedDenied] = reply;
    // As findApproval: the approval of the digest itself, else the one staging made of it.
    const direct = approvalOf(json, tags);
    if (servesScope(direct, scope)) return withDenial(direct, denied);
    const viaSource = staged ? approvalOf(stagedJson, stagedTags) : null;
    return servesScope(viaSource, scope) && viaSource.sourceDigest === digest ? withDenial(viaSource, stagedDenied) : null;
  }

  async digestForTag(scope: ApprovalScope, tag: string): Promise<string | null> {
    return this.redis.get(this.keys.approvedTag(scope.team, scope.image, platformKey(scope.platforms), tag));
  }

  async digestForSource(scope: ApprovalScope, sourceDigest: string): Promise<string | null> {
    return this.redis.get(this.keys.approvalSource(scope.team, scope.image, platformKey(scope.platforms), sourceDigest));
  }

  async ofDigest(team: string, digest: string): Promise<Approval[]> {
    const images = (await this.redis.smembers(this.keys.approvalImages(team, digest))).sort();
    return (await Promise.all(images.map((image) => this.get(team, image, digest)))).filter((a): a is Approval => a !== null);
  }

  async remove(team: string, image: string, digest: string): Promise<Approval | null> {
    const existing = await this.get(team, image, digest);
    if (!existing) return null;
    const keys = removalKeys(this.keys, existing);
    await writeWithVersion(this.redis, this.version, (m) => m.eval(REMOVE, keys.length, ...keys, digest, image));
    await this.confirm();
    return existing;
  }

  async list(team: string, page: { limit: number; cursor?: string }): Promise<Page<Approval>> {
    let after: string | null = null;
    if (page.cursor) {
      after = Buffer.from(page.cursor, 'base64url').toString('utf8');
      if (!INVENTORY_MEMBER.test(after)) throw new AppError('INVALID_REQUEST', 'cursor is not valid');
    }
    const members = await this.redis.zrevrangebylex(this.keys.approvalsByTeam(team), after ? `(${after}` : '+', '-', 'LIMIT', 0, page.limit + 1);
    const shown = members.slice(0, page.limit);
    const items = (await Promise.all(shown.map((m) => {
      const ref = m.slice(m.indexOf('|') + 1);
      const at = ref.lastIndexOf('@');
      return this.get(team, ref.slice(0, at), ref.slice(at + 1));
    }))).filter((a): a is Approval => a !== null);
    return { items, next: members.length > page.limit && shown.length ? encodeCursor(shown[shown.length - 1]) : null };
  }
}
