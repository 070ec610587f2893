/**
 * Matching is a pure function of (inventory, vulnerability database): the scan reads the layers
 * once into an inventory per platform image, and findings are computed from that inventory
 * alone. The same function serves a fresh scan and the re-match of a stored inventory after the
 * OSV data changed (src/monitor/rematch.ts), so both give the same findings for the same data
 * and a re-match never needs the registry.
 */
import type { InstalledPackage } from '../packages';
import type { Finding } from '../types';
import { withCoverage } from '../coverage';
import type { ImageInventory } from './inventory-image';
import { mergePlatformFindings } from './merge';
import { mergeTwins } from './twins';

/** What matching needs of the database: the OSV index (../osv/database.ts) satisfies it. */
export interface VulnerabilityIndex {
  findingsFor(pkg: InstalledPackage): Finding[];
}

/** The inventory of one platform image of a digest (one for a single-platform image). */
export interface PlatformInventory extends ImageInventory {
  /** `os/arch[/variant]` from the index entry; unset for a single-platform target. */
  platform?: string;
  /** Digest of the platform image manifest that was read. */
  manifestDigest: string;
}

/**
 * Findings of one platform image: its packages matched (two databases' records of one
 * vulnerability in one package merged, ./twins.ts), then what it could not check and its hardening.
 */
export function matchImage(inventory: ImageInventory, db: VulnerabilityIndex): Finding[] {
  return [...inventory.packages.flatMap((p) => mergeTwins(db.findingsFor(p))), ...inventory.coverage, ...inventory.hardening];
}

/** Findings of a whole digest: every platform image matched, merged by platform, with coverage. */
export function matchInventory(images: readonly PlatformInventory[], db: VulnerabilityIndex): Finding[] {
  const perPlatform = images.map((image) => ({ ...(image.platform ? { platform: image.platform } : {}), findings: matchImage(image, db) }));
  return withCoverage(mergePlatformFindings(perPlatform));
}
