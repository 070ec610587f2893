/**
 * Every approved digest of every team, read from the ledger's per-team inventories (the sorted
 * sets `approvalsByTeam` of src/store/keys.ts, members `<approvedAt ms>|image@digest`), grouped by digest: what
 * a re-match or a rescan walks. Read-only; a SCAN, so a large ledger never blocks Redis.
 */
import type Redis from 'ioredis';
import { storeKeys } from '../store';

const MEMBER = /^\d{15}\|(\S+)@(sha256:[a-f0-9]{64})$/;

export interface ApprovedDigest {
  digest: string;
  /** Each team and source image (`registry/repository`) it is approved for. */
  approvals: Array<{ team: string; repository: string }>;
}

export class ApprovedDigests {
  private readonly keyPrefix: string;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keyPrefix = storeKeys(prefix).approvalsByTeam('');
  }

  async list(): Promise<ApprovedDigest[]> {
    const byDigest = new Map<string, ApprovedDigest>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const team = key.slice(this.keyPrefix.length);
        for (const member of await this.redis.zrange(key, '0', '-1')) {
          const m = MEMBER.exec(member);
          if (!m) continue;
          const digest = m[2]!;
          const entry = byDigest.get(digest) ?? { digest, approvals: [] };
          entry.approvals.push({ team, repository: m[1]! });
          byDigest.set(digest, entry);
        }
      }
    } while (cursor !== '0');
    return [...byDigest.values()].sort((a, b) => a.digest.localeCompare(b.digest));
  }
}
