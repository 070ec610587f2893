/**
 * The approved-digest ledger in Redis: one record per team and digest, an index from
 * `team + image:tag` to the digest last approved for it, an index from `team + upstream digest`
 * to the digest approved for it when a mover re-encoded the image, and the teams holding a
 * digest (for revocation without a team).
 *
 * The tag index is written only by {@link RedisApprovalStore.addTag}, one tag at a time, never
 * by `put`: re-saving an older approval must not re-point a tag that a newer approval owns.
 * The tags an approval was given live in a set beside its record (so that adding one is a
 * single atomic write); `get` returns them merged with the record's own `tags`.
 */
import type Redis from 'ioredis';
import { storeKeys, type StoreKeys } from './keys';
import type { Approval, ApprovalStore } from './types';

// KEYS: tag index entries; ARGV[1]: digest. Deletes each entry only while it points at the digest.
const DELETE_IF_OWNED = `
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then n = n + redis.call('DEL', key) end
end
return n
`;

export class RedisApprovalStore implements ApprovalStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async put(a: Approval): Promise<void> {
    const k = this.keys;
    const tx = this.redis.multi().set(k.approval(a.team, a.digest), JSON.stringify(a)).sadd(k.approvalTeams(a.digest), a.team);
    if (a.tags.length) tx.sadd(k.approvalTags(a.team, a.digest), ...a.tags);
    if (a.sourceDigest && a.sourceDigest !== a.digest) tx.set(k.approvalSource(a.team, a.sourceDigest), a.digest);
    await tx.exec();
  }

  async addTag(team: string, image: string, tag: string, digest: string): Promise<void> {
    const k = this.keys;
    await this.redis.multi().set(k.approvedTag(team, image, tag), digest).sadd(k.approvalTags(team, digest), tag).exec();
  }

  async get(team: string, digest: string): Promise<Approval | null> {
    const [json, tags] = await Promise.all([this.redis.get(this.keys.approval(team, digest)), this.redis.smembers(this.keys.approvalTags(team, digest))]);
    if (!json) return null;
    const a = JSON.parse(json) as Approval;
    return { ...a, tags: [...new Set([...a.tags, ...tags])].sort() };
  }

  async digestForTag(team: string, image: string, tag: string): Promise<string | null> {
    return this.redis.get(this.keys.approvedTag(team, image, tag));
  }

  async digestForSource(team: string, sourceDigest: string): Promise<string | null> {
    return this.redis.get(this.keys.approvalSource(team, sourceDigest));
  }

  async teamsFor(digest: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.approvalTeams(digest))).sort();
  }

  async remove(team: string, digest: string): Promise<Approval | null> {
    const k = this.keys;
    const existing = await this.get(team, digest);
    if (!existing) return null;
    // A tag entry that a newer approval re-pointed belongs to that approval and stays.
    const tagKeys = existing.tags.map((tag) => k.approvedTag(team, existing.image, tag));
    // So does a source digest entry that another approval of the same upstream digest re-pointed.
    if (existing.sourceDigest) tagKeys.push(k.approvalSource(team, existing.sourceDigest));
    if (tagKeys.length) await this.redis.eval(DELETE_IF_OWNED, tagKeys.length, ...tagKeys, digest);
    await this.redis.multi().del(k.approval(team, digest), k.approvalTags(team, digest)).srem(k.approvalTeams(digest), team).exec();
    return existing;
  }
}
