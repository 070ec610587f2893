/**
 * The whole approved-digest ledger at once, for the admission webhook's in-memory set: every
 * team's completed approvals (through the inventory each team keeps) and every deny-list entry.
 * Teams and deny-list entries are found with SCAN (cursor-based, never blocking Redis), which a
 * replica does at start, on reconnect and every `webhook.resyncMs`.
 */
import type Redis from 'ioredis';
import { ledgerVersionKey } from './ledger-version';
import { RedisApprovalStore } from './redis-approvals';
import type { Approval, Revocation } from './types';

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
}
