/**
 * The approved-digest ledger in Redis: one record per team and digest, an index from
 * `team + image:tag` to the digest last approved for it, and the teams holding a digest
 * (for revocation without a team). Writes go in one MULTI so the indexes match the record.
 */
import type Redis from 'ioredis';
import { storeKeys, type StoreKeys } from './keys';
import type { Approval, ApprovalStore } from './types';

export class RedisApprovalStore implements ApprovalStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async put(a: Approval): Promise<void> {
    const k = this.keys;
    const tx = this.redis.multi().set(k.approval(a.team, a.digest), JSON.stringify(a)).sadd(k.approvalTeams(a.digest), a.team);
    for (const tag of a.tags) tx.set(k.approvedTag(a.team, a.image, tag), a.digest);
    await tx.exec();
  }

  async get(team: string, digest: string): Promise<Approval | null> {
    const json = await this.redis.get(this.keys.approval(team, digest));
    return json ? (JSON.parse(json) as Approval) : null;
  }

  async digestForTag(team: string, image: string, tag: string): Promise<string | null> {
    return this.redis.get(this.keys.approvedTag(team, image, tag));
  }

  async teamsFor(digest: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.approvalTeams(digest))).sort();
  }

  async remove(team: string, digest: string): Promise<Approval | null> {
    const k = this.keys;
    const existing = await this.get(team, digest);
    if (!existing) return null;
    const tx = this.redis.multi().del(k.approval(team, digest)).srem(k.approvalTeams(digest), team);
    // Only drop a tag index entry that still points at this digest (a newer approval may own it).
    const tagKeys = existing.tags.map((tag) => k.approvedTag(team, existing.image, tag));
    const current = tagKeys.length ? await this.redis.mget(...tagKeys) : [];
    tagKeys.forEach((key, i) => { if (current[i] === digest) tx.del(key); });
    await tx.exec();
    return existing;
  }
}
