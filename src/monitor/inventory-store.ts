/**
 * The package inventory of each scanned digest, kept in Redis beside its scan report: the
 * CycloneDX SBOM (../scanners/sbom/cyclonedx.ts) plus, per platform image, the findings that
 * do not come from the vulnerability data (coverage, hardening), so that a re-match after a
 * data change rebuilds the whole report without reading the image. One key per scanner and
 * digest, gzip-compressed JSON, with the same lifetime as the stored scan report
 * (SCAN_RESULT_TTL_SECONDS, renewed by every re-match). An inventory larger than
 * {@link MAX_INVENTORY_BYTES} compressed is not kept (the digest is then rescanned instead).
 * Beside it, under its own key with the same lifetime, the matching form of the same packages
 * (./inventory-compact.ts): the re-match reads that, many digests per round trip, and falls
 * back to the SBOM for a record kept before the matching form existed.
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
import { compactInventorySchema, fromCompact, toCompact } from './inventory-compact';

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

/**
 * The platform inventories of a stored record: what the matcher takes (../scanners/builtin/match.ts).
 * `bom`: the SBOM object `stored.sbom` was serialized from, when the caller has it; else the text is parsed.
 */
export function platformInventories(stored: StoredInventory, bom?: CycloneDxBom): PlatformInventory[] {
  const packages = packagesByImage(bom ?? (cycloneDxSchema.parse(JSON.parse(stored.sbom)) as CycloneDxBom));
  return stored.images.map((i) => ({
    manifestDigest: i.manifestDigest,
    ...(i.platform ? { platform: i.platform } : {}),
    packages: packages.get(i.manifestDigest) ?? [],
    coverage: i.coverage,
    hardening: i.hardening,
  }));
}

/**
 * The SBOM object each record made by {@link RedisInventoryStore.toStored} was serialized from:
 * {@link RedisInventoryStore.put} derives the matching form from it instead of parsing back the
 * JSON just written (issue 17: a parse and a schema check of every SBOM, on the scan's path).
 * The record's own `sbom` text is exactly JSON.stringify of it, so both give the same packages.
 */
const builtFrom = new WeakMap<StoredInventory, CycloneDxBom>();

export class RedisInventoryStore {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly subject: SbomSubject) {}

  key(scanner: string, digest: string): string {
    return `${this.prefix}:inventory:${scanner}:${digest}`;
  }

  /** The record kept for a scan (the SBOM is built here, once). */
  toStored(inv: ScannedInventory): StoredInventory {
    const bom = toCycloneDx(inv, this.subject);
    const stored: StoredInventory = {
      v: 1, scanner: inv.scanner, digest: inv.digest, repository: inv.repository, scannedAt: inv.scannedAt, dbVersion: inv.dbVersion,
      sbom: JSON.stringify(bom),
      images: inv.images.map((i) => ({ manifestDigest: i.manifestDigest, ...(i.platform ? { platform: i.platform } : {}), coverage: i.coverage, hardening: i.hardening })),
    };
    builtFrom.set(stored, bom);
    return stored;
  }

  /** The key of the matching form of the same inventory (./inventory-compact.ts). */
  matchKey(scanner: string, digest: string): string {
    return `${this.prefix}:inventory-match:${scanner}:${digest}`;
  }

  /**
   * Keeps `stored` and its matching form (derived from the SBOM just built, so the two give
   * the same packages), both or neither; false (and nothing written) when it is above
   * {@link MAX_INVENTORY_BYTES} compressed.
   */
  async put(stored: StoredInventory): Promise<boolean> {
    const [packed, compact] = await Promise.all([
      gzipAsync(Buffer.from(JSON.stringify(stored), 'utf8')),
      gzipAsync(Buffer.from(JSON.stringify(toCompact(platformInventories(stored, builtFrom.get(stored)))), 'utf8')),
    ]);
    if (packed.length > MAX_INVENTORY_BYTES) return false;
    await this.redis.multi()
      .set(this.key(stored.scanner, stored.digest), packed, 'EX', SCAN_RESULT_TTL_SECONDS)
      .set(this.matchKey(stored.scanner, stored.digest), compact, 'EX', SCAN_RESULT_TTL_SECONDS)
      .exec();
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

  /**
   * The platform inventories of `digests` to match (null where none is kept), in one round
   * trip: the matching forms, inflated off the event loop; a digest kept before the matching
   * form existed is read through its SBOM instead.
   */
  async platforms(scanner: string, digests: readonly string[]): Promise<Array<PlatformInventory[] | null>> {
    if (digests.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const digest of digests) pipe.getBuffer(this.matchKey(scanner, digest));
    const replies = (await pipe.exec()) ?? [];
    return Promise.all(digests.map(async (digest, i) => {
      const [err, packed] = replies[i] ?? [null, null];
      if (err) throw err;
      if (Buffer.isBuffer(packed)) {
        const json = await gunzipAsync(packed, { maxOutputLength: MAX_INFLATED_BYTES });
        const parsed = compactInventorySchema.safeParse(JSON.parse(json.toString('utf8')));
        if (parsed.success) return fromCompact(parsed.data);
      }
      const stored = await this.get(scanner, digest);
      return stored ? platformInventories(stored) : null;
    }));
  }

  /** Renews the lifetime of kept inventories (a re-match found them still in use), in one round trip. */
  async touchAll(scanner: string, digests: readonly string[]): Promise<void> {
    if (digests.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const digest of digests) {
      pipe.expire(this.key(scanner, digest), SCAN_RESULT_TTL_SECONDS);
      pipe.expire(this.matchKey(scanner, digest), SCAN_RESULT_TTL_SECONDS);
    }
    await pipe.exec();
  }
}
