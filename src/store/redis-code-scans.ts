/**
 * Full code-scan findings in Redis, one string key per run. Only runs too large to keep
 * verbatim on the request record are written here; the request keeps their grouped form.
 */
import type Redis from 'ioredis';
import type { Finding } from '../scanners/types';
import { storeKeys, type StoreKeys } from './keys';
import type { CodeScanStore } from './types';

export class RedisCodeScanStore implements CodeScanStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async putFindings(requestId: string, scanId: string, findings: readonly Finding[]): Promise<void> {
    await this.redis.set(this.keys.codeScanFindings(requestId, scanId), JSON.stringify(findings));
  }

  async getFindings(requestId: string, scanId: string): Promise<Finding[] | null> {
    const json = await this.redis.get(this.keys.codeScanFindings(requestId, scanId));
    return json ? (JSON.parse(json) as Finding[]) : null;
  }

  async deleteFindings(requestId: string, scanId: string): Promise<void> {
    await this.redis.del(this.keys.codeScanFindings(requestId, scanId));
  }
}
