/**
 * What happens to an inventory the builtin scanner found: it is kept (./inventory-store.ts)
 * and its SBOM is attached to the quarantined image as an OCI referrer
 * (../scanners/sbom/referrer.ts). When the request is approved, the same SBOM is attached to
 * the approved image ({@link approvedReferrerSubscriber}), never before: nothing is written
 * under `approved/` by this module until the request is approved.
 */
import type { DomainEvent } from '../intake';
import type { Logger } from '../lib/logger';
import type { RegistryClient } from '../registry/types';
import type { InventorySink, ReferrerLocks, ScannedInventory } from '../scanners';
import { attachSbom } from '../scanners';
import type { ScanTarget } from '../scanners/types';
import type { ApprovalStore } from '../store/types';
import type { RedisInventoryStore, StoredInventory } from './inventory-store';

/** The SBOM's bytes as served and pushed: one serialization, so both are identical. */
export function sbomBytes(stored: StoredInventory): Buffer {
  return Buffer.from(stored.sbom, 'utf8');
}

export interface SinkOptions {
  /** Attach the SBOM as an OCI referrer in the internal registry. @defaultValue true */
  referrers: boolean;
  /** Leases every process shares, so concurrent attaches to one image lose no referrer. @defaultValue none: turns are taken in this process only */
  locks?: ReferrerLocks;
}

export class MonitorInventorySink implements InventorySink {
  constructor(private readonly store: RedisInventoryStore, private readonly options: SinkOptions, private readonly logger: Logger) {}

  async put(inv: ScannedInventory, target: ScanTarget): Promise<void> {
    const stored = this.store.toStored(inv);
    if (!(await this.store.put(stored))) {
      this.logger.warn({ digest: inv.digest, scanner: inv.scanner, sbomBytes: stored.sbom.length }, 'inventory too large to keep: this digest will be rescanned, not re-matched');
    }
    if (!this.options.referrers) return;
    try {
      const attached = await attachSbom(target.registry, target.repository, inv.digest, sbomBytes(stored), inv.scannedAt, { locks: this.options.locks });
      this.logger.info({ digest: inv.digest, repository: target.repository, referrer: attached.digest }, 'SBOM attached to the quarantined image');
    } catch (err) {
      // The SBOM is a by-product for other tools: failing to publish it must not fail the scan.
      this.logger.warn({ error: err, digest: inv.digest, repository: target.repository }, 'could not attach the SBOM to the quarantined image');
    }
  }
}

export interface ApprovedReferrerDeps {
  store: Pick<RedisInventoryStore, 'get'>;
  approvals: Pick<ApprovalStore, 'ofDigest'>;
  registry: RegistryClient;
  /** Builtin scanner names, in configuration order: the first with a kept inventory gives the SBOM. */
  scanners: readonly string[];
  logger: Logger;
  /** As {@link SinkOptions.locks}. */
  locks?: ReferrerLocks;
}

/** On a request's move to `approved`: attaches the kept SBOM to each approved copy of its digest. */
export function approvedReferrerSubscriber(d: ApprovedReferrerDeps): (event: DomainEvent) => Promise<void> {
  return async (event) => {
    if (event.type !== 'request.status_changed' || event.details.to !== 'approved') return;
    const { team, digest } = event.details as { team?: unknown; digest?: unknown };
    if (typeof team !== 'string' || typeof digest !== 'string') return;
    let stored: StoredInventory | null = null;
    for (const name of d.scanners) {
      stored = await d.store.get(name, digest);
      if (stored) break;
    }
    if (!stored) return;
    for (const approval of await d.approvals.ofDigest(team, digest)) {
      if (approval.pending) continue;
      try {
        await attachSbom(d.registry, approval.internalRepository, digest, sbomBytes(stored), stored.scannedAt, { locks: d.locks });
      } catch (err) {
        d.logger.warn({ error: err, digest, repository: approval.internalRepository }, 'could not attach the SBOM to the approved image');
      }
    }
  };
}
