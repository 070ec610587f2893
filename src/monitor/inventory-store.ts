/**
 * The package inventory of each scanned digest, kept in Redis beside its scan report: the
 * CycloneDX SBOM (../scanners/sbom/cyclonedx.ts) plus, per platform image, the findings that
 * do not come from the vulnerability data (coverage, hardening), so that a re-match after a
 * data change rebuilds the whole report without reading the image. One key per scanner and
 * digest, gzip-compressed JSON, with the same lifetime as the stored scan report
 * (SCAN_RESULT_TTL_SECONDS, renewed by every re-match). An inventory larger than
 * {@link MAX_INVENTORY_BYTES} compressed is not kept (the digest is then rescanned instead).
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type Redis from 'ioredis';
import { z } from 'zod';
import type { ScannedInventory } from '../scanners';
import type { PlatformInventory } from '../scanners';
import { cycloneDxSchema, packagesByImage, toCycloneDx, type CycloneDxBom, type SbomSubject } from '../scanners';
import { findingSchema } from '../scanners/types';
import { SCAN_RESULT_TTL_SECONDS } from '../store';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** Compressed bytes of one stored inventory at most (a 2,000-package image takes ~40 KiB). */
export const MAX_INVENTORY_BYTES = 8 * 1024 * 1024;
/** Decompressed bytes read back at most: a corrupt or hostile value must not exhaust memory. */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

const storedSchema = z.object({
  v: z.literal(1),
  scanner: z.string(),
  digest: z.string(),
  repository: z.string(),
  scannedAt: z.string(),
  dbVersion: z.string(),
  /** The SBOM's JSON text, kept as written: served and pushed byte for byte. */
  sbom: z.string(),
  images: z.array(z.object({
    manifestDigest: z.string(),
    platform: z.string().optional(),
    coverage: z.array(findingSchema),
    hardening: z.array(findingSchema),
  })),
});
export type StoredInventory = z.infer<typeof storedSchema>;

/** The platform inventories of a stored record: what the matcher takes (../scanners/builtin/match.ts). */
export function platformInventories(stored: StoredInventory): PlatformInventory[] {
  const packages = packagesByImage(cycloneDxSchema.parse(JSON.parse(stored.sbom)) as CycloneDxBom);
  return stored.images.map((i) => ({
    manifestDigest: i.manifestDigest,
    ...(i.platform ? { platform: i.platform } : {}),
    packages: packages.get(i.manifestDigest) ?? [],
    coverage: i.coverage,
    hardening: i.hardening,
  }));
}

export class RedisInventoryStore {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly subject: SbomSubject) {}

  key(scanner: string, digest: string): string {
    return `${this.prefix}:inventory:${scanner}:${digest}`;
  }

  /** The record kept for a scan (the SBOM is built here, once). */
  toStored(inv: ScannedInventory): StoredInventory {
    return {
      v: 1, scanner: inv.scanner, digest: inv.digest, repository: inv.repository, scannedAt: inv.scannedAt, dbVersion: inv.dbVersion,
      sbom: JSON.stringify(toCycloneDx(inv, this.subject)),
      images: inv.images.map((i) => ({ manifestDigest: i.manifestDigest, ...(i.platform ? { platform: i.platform } : {}), coverage: i.coverage, hardening: i.hardening })),
    };
  }

  /** Keeps `stored`; false (and nothing written) when it is above {@link MAX_INVENTORY_BYTES} compressed. */
  async put(stored: StoredInventory): Promise<boolean> {
    const packed = await gzipAsync(Buffer.from(JSON.stringify(stored), 'utf8'));
    if (packed.length > MAX_INVENTORY_BYTES) return false;
    await this.redis.set(this.key(stored.scanner, stored.digest), packed, 'EX', SCAN_RESULT_TTL_SECONDS);
    return true;
  }

  async get(scanner: string, digest: string): Promise<StoredInventory | null> {
    const packed = await this.redis.getBuffer(this.key(scanner, digest));
    if (!packed) return null;
    const json = await gunzipAsync(packed, { maxOutputLength: MAX_INFLATED_BYTES });
    const parsed = storedSchema.safeParse(JSON.parse(json.toString('utf8')));
    // A value this code did not write (or an older layout) is treated as absent: the digest is rescanned.
    return parsed.success ? parsed.data : null;
  }

  /** Renews the lifetime of a kept inventory (a re-match found it still in use). */
  async touch(scanner: string, digest: string): Promise<void> {
    await this.redis.expire(this.key(scanner, digest), SCAN_RESULT_TTL_SECONDS);
  }
}
