/**
 * The whole approved-digest ledger at once, for the admission webhook's in-memory set: every
 * team's completed approvals (through the inventory each team keeps) and every deny-list entry.
 * Teams and deny-list entries are found with SCAN (cursor-based, never blocking Redis), which a
 * replica does at start, on reconnect and every `webhook.resyncMs`.
 */
import type Redis from 'ioredis';
import { approvedTagHead, revokedTagHead } from './keys';
import { ledgerVersionKey } from './ledger-version';
import { RedisApprovalStore } from './redis-approvals';
import { platformKey, type Approval, type Revocation } from './types';

/** A whole-image tag of a team's image and a digest: the tag index's or a revoked tag's. */
export interface TagRecord {
  team: string;
  /** `registry/repository`: the upstream name, or the internal repository's. */
  image: string;
  tag: string;
  digest: string;
}

/** A tag a revocation dropped, and the digest it named then (keys.ts `revokedTag`). */
export type RevokedTagRecord = TagRecord;

/** A tag of the ledger's tag index and the digest it is approved as now (keys.ts `approvedTag`). */
export type ApprovedTagRecord = TagRecord;

const PAGE = 500;

export class RedisLedgerSnapshot {
  private readonly approvals: RedisApprovalStore;

  constructor(private readonly redis: Redis, private readonly prefix: string) {
    this.approvals = new RedisApprovalStore(redis, prefix);
  }

  private async scan(match: string): Promise<string[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return keys;
  }

  /** The ledger's version (ledger-version.ts), null before its first write: read before a snapshot, and instead of one when it has not moved. */
  version(): Promise<string | null> {
    return this.redis.get(ledgerVersionKey(this.prefix));
  }

  async snapshot(): Promise<{ approvals: Approval[]; revoked: Revocation[] }> {
    const teamPrefix = `${this.prefix}:approvals:`;
    const teams = (await this.scan(`${teamPrefix}*`)).map((k) => k.slice(teamPrefix.length));
    const approvals: Approval[] = [];
    for (const team of teams) {
      for (let cursor: string | undefined; ;) {
        const page = await this.approvals.list(team, { limit: PAGE, ...(cursor ? { cursor } : {}) });
        approvals.push(...page.items);
        if (!page.next) break;
        cursor = page.next;
      }
    }
    const revoked: Revocation[] = [];
    for (const key of await this.scan(`${this.prefix}:revoked:*`)) {
      for (const json of Object.values(await this.redis.hgetall(key))) revoked.push(JSON.parse(json) as Revocation);
    }
    return { approvals, revoked };
  }

  /**
   * The tag index of whole-image approvals (keys.ts `approvedTag`): the digest each tag is
   * approved as now, as CI's lookup reads it. For the webhook, whose approvals list every tag
   * they were ever given (a re-approved tag is listed by both digests). Separate from
   * {@link snapshot}, which the monitor's sweeps read too.
   */
  async approvedTags(): Promise<ApprovedTagRecord[]> {
    return this.tagEntries(approvedTagHead(this.prefix));
  }

  /**
   * Every whole-image tag a revocation dropped that still names its digest (90 days, keys.ts
   * `revokedTag`): for the webhook, which answers such a tag REVOKED as CI does. Platform-selected
   * approvals answer no tag there, so theirs are left out. Separate from {@link snapshot}, which
   * the monitor's sweeps read too.
   */
  async revokedTags(): Promise<RevokedTagRecord[]> {
    return this.tagEntries(revokedTagHead(this.prefix));
  }

  /** The whole-image entries of the `team|image|platforms|tag` → digest keys under `head`. */
  private async tagEntries(head: string): Promise<TagRecord[]> {
    const keys = await this.scan(`${head}*`);
    const out: TagRecord[] = [];
    for (let i = 0; i < keys.length; i += PAGE) {
      const batch = keys.slice(i, i + PAGE);
      const digests = await this.redis.mget(...batch);
      batch.forEach((key, j) => {
        const digest = digests[j];
        // `team|image|platforms|tag`: an image name, a platform set and a tag never hold a `|`.
        const parts = key.slice(head.length).split('|');
        if (!digest || parts.length < 4) return;
        const [tag, platforms, image] = [parts.pop()!, parts.pop()!, parts.pop()!];
        if (platforms === platformKey([])) out.push({ team: parts.join('|'), image, tag, digest });
      });
    }
    return out;
  }
}
