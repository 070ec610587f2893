/**
 * Matching is a pure function of (inventory, vulnerability database): the scan reads the layers
 * once into an inventory per platform image, and findings are computed from that inventory
 * alone. The same function serves a fresh scan and the re-match of a stored inventory after the
 * OSV data changed (src/monitor/rematch.ts), so both give the same findings for the same data
 * and a re-match never needs the registry.
 */
import { AppError } from '../../lib/errors';
import type { InstalledPackage } from '../packages';
import type { Finding } from '../types';
import { withCoverage } from '../coverage';
import type { ImageInventory } from './inventory-image';
import { mergePlatformFindings } from './merge';
import { mergeTwins } from './twins';

/** What matching needs of the database: the OSV index (../osv/database.ts) satisfies it. */
export interface VulnerabilityIndex {
  findingsFor(pkg: InstalledPackage): Finding[];
  /**
   * How many advisories matching `pkg` compares it with. When the index tells, matching a scan
   * is refused past {@link MAX_MATCH_COMPARISONS} before any comparison is made.
   */
  candidateCount?(pkg: InstalledPackage): number;
}

/**
 * (package × candidate advisory) version comparisons one scan may cost, all platform images
 * together. Matching is synchronous; a dpkg status of 100,000 records all `Source: linux`
 * against 3,000 advisories for linux once held the worker for 358 s. Real images (Debian and
 * Ubuntu bases of a few thousand packages, against the full OSV data) need well under a
 * hundredth of this.
 */
export const MAX_MATCH_COMPARISONS = 20_000_000;

/** Refuses a scan whose matching would cost more than {@link MAX_MATCH_COMPARISONS}, counting only. */
function checkMatchCost(images: readonly ImageInventory[], db: VulnerabilityIndex): void {
  if (!db.candidateCount) return;
  let total = 0;
  for (const image of images) {
    for (const pkg of image.packages) {
      total += db.candidateCount(pkg);
      if (total > MAX_MATCH_COMPARISONS) {
        throw new AppError('SCAN_LIMIT_EXCEEDED', `matching the image's ${image.packages.length} packages would take more than ${MAX_MATCH_COMPARISONS} version comparisons (at ${pkg.ecosystem}/${pkg.name})`);
      }
    }
  }
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
  checkMatchCost([inventory], db);
  return matchPackages(inventory, db);
}

function matchPackages(inventory: ImageInventory, db: VulnerabilityIndex): Finding[] {
  return [...inventory.packages.flatMap((p) => mergeTwins(db.findingsFor(p))), ...inventory.coverage, ...inventory.hardening];
}

/** Findings of a whole digest: every platform image matched, merged by platform, with coverage. */
export function matchInventory(images: readonly PlatformInventory[], db: VulnerabilityIndex): Finding[] {
  // One budget for all platform images, as for the scan limits (./limits.ts): an index's
  // children must not multiply it.
  checkMatchCost(images, db);
  const perPlatform = images.map((image) => ({ ...(image.platform ? { platform: image.platform } : {}), findings: matchPackages(image, db) }));
  return withCoverage(mergePlatformFindings(perPlatform));
}
