/**
 * Scan reports in Redis, one string key per scanner and digest. A digest's content never
 * changes, so a report stays true until the scanner's vulnerability data does; the intake
 * pipeline compares the stored `dbVersion` with the scanner's current one before reusing it.
 * Keys expire so that digests nobody asks for again do not accumulate forever.
 */
import type Redis from 'ioredis';
import type { ScanReport } from '../scanners/types';
import { storeKeys, type StoreKeys } from './keys';
import type { ScanResultStore } from './types';

/** A stored report lives this long after its last write (a reuse does not extend it). */
export const SCAN_RESULT_TTL_SECONDS = 30 * 24 * 3600;

export class RedisScanResultStore implements ScanResultStore {
  private readonly keys: StoreKeys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = storeKeys(prefix);
  }

  async get(scanner: string, digest: string): Promise<ScanReport | null> {
    const json = await this.redis.get(this.keys.scanResult(scanner, digest));
    return json ? (JSON.parse(json) as ScanReport) : null;
  }

  async put(digest: string, report: ScanReport): Promise<void> {
    await this.redis.set(this.keys.scanResult(report.scanner, digest), JSON.stringify(report), 'EX', SCAN_RESULT_TTL_SECONDS);
  }
}
