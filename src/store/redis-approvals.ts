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
import { encodeCursor, storeKeys, type StoreKeys } from './keys';
import { platformKey, type Approval, type ApprovalScope, type ApprovalStore, type Page } from './types';

// KEYS: approval, images of the digest, tags, source entry, team inventory
// ARGV: json, image, inventory member ('' while pending), digest, write source ('1'/'0'), tags…
const PUT = `
local old = redis.call('HGET', KEYS[1], 'member')
if old and old ~= '' then redis.call('ZREM', KEYS[5], old) end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'member', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
for i = 6, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
if ARGV[5] == '1' then redis.call('SET', KEYS[4], ARGV[4]) end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[5], 0, ARGV[3]) end
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

const INVENTORY_MEMBER = /^\d{15}\|\S+@sha256:[a-f0-9]{64}$/;

function inventoryMember(a: Approval): string {
  return `${String(Date.parse(a.approvedAt)).padStart(15, '0')}|${a.image}@${a.digest}`;
}

export class RedisApprovalStore implements ApprovalStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async put(a: Approval): Promise<void> {
    const k = this.keys;
    const platforms = platformKey(a.platforms);
    const record: Approval = { ...a, platforms: platforms === '*' ? [] : platforms.split(',') };
    const source = Boolean(a.sourceDigest && a.sourceDigest !== a.digest);
    await this.redis.eval(PUT, 5,
      k.approval(a.team, a.image, a.digest), k.approvalImages(a.team, a.digest), k.approvalTags(a.team, a.image, a.digest),
      k.approvalSource(a.team, a.image, platforms, a.sourceDigest ?? a.digest), k.approvalsByTeam(a.team),
      JSON.stringify(record), a.image, a.pending ? '' : inventoryMember(a), a.digest, source ? '1' : '0', ...a.tags);
  }

  async addTag(scope: ApprovalScope, tag: string, digest: string): Promise<void> {
    const k = this.keys;
    await this.redis.multi()
      .set(k.approvedTag(scope.team, scope.image, platformKey(scope.platforms), tag), digest)
      .sadd(k.approvalTags(scope.team, scope.image, digest), tag).exec();
  }

  async get(team: string, image: string, digest: string): Promise<Approval | null> {
    const [json, tags] = await Promise.all([
      this.redis.hget(this.keys.approval(team, image, digest), 'json'), this.redis.smembers(this.keys.approvalTags(team, image, digest)),
    ]);
    if (!json) return null;
    const a = JSON.parse(json) as Approval;
    return { ...a, platforms: a.platforms ?? [], tags: [...new Set([...a.tags, ...tags])].sort() };
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
    const k = this.keys;
    const existing = await this.get(team, image, digest);
    if (!existing) return null;
    const platforms = platformKey(existing.platforms);
    // A tag entry that a newer approval re-pointed belongs to that approval and stays; so does
    // a source entry that another approval of the same upstream digest re-pointed.
    const owned = existing.tags.map((tag) => k.approvedTag(team, image, platforms, tag));
    if (existing.sourceDigest) owned.push(k.approvalSource(team, image, platforms, existing.sourceDigest));
    await this.redis.eval(REMOVE, 4 + owned.length,
      k.approval(team, image, digest), k.approvalImages(team, digest), k.approvalTags(team, image, digest), k.approvalsByTeam(team), ...owned,
      digest, image);
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
