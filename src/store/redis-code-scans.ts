/**
 * The original SARIF logs of a request's code scans in Redis, one string key per distinct log:
 * `${prefix}:code-scan:${requestId}:sarif:${sha256}`. Each log is written once (SET NX), so
 * the same upload sent twice, or by two clients at once, is stored once. The request record
 * keeps only a bounded summary per run (intake/code-scans.ts). Whatever removes a request
 * should remove `${prefix}:code-scan:${requestId}:*` too.
 */
import type Redis from 'ioredis';
import type { CodeScanStore } from './types';

export class RedisCodeScanStore implements CodeScanStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(requestId: string, sha256: string): string {
    return `${this.prefix}:code-scan:${requestId}:sarif:${sha256}`;
  }

  async putUpload(requestId: string, sha256: string, log: Buffer): Promise<boolean> {
    return (await this.redis.set(this.key(requestId, sha256), log, 'NX')) === 'OK';
  }

  async getUpload(requestId: string, sha256: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.key(requestId, sha256));
  }

  async deleteUpload(requestId: string, sha256: string): Promise<void> {
    await this.redis.del(this.key(requestId, sha256));
  }
}
