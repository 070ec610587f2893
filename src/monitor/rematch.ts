/**
 * Re-matches approved digests against new vulnerability data from their stored inventories
 * (issue 13.1): no registry traffic, no layer read. For each approved digest whose stored
 * report was made with older data, the kept inventory (./inventory-store.ts) is matched with
 * the builtin scanner's own matcher (../scanners/builtin/match.ts), the report is stored where
 * scan reports live (per digest and scanner), and when the findings differ from the previous
 * report a `findings.updated {team, repository, digest, scanner}` event is published for every
 * team and image the digest is approved for (BOARD contract: health re-evaluates on it).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DomainEvent } from '../intake';
import type { Logger } from '../lib/logger';
import { matchInventory, MemoizedIndex, type VulnerabilityIndex } from '../scanners';
import { summarize, type Finding, type ScanReport } from '../scanners/types';
import type { ScanResultStore } from '../store/types';
import type { ApprovedDigest } from './approved-digests';
import { platformInventories, type StoredInventory } from './inventory-store';

export const FINDINGS_UPDATED = 'findings.updated';

/** A scanner whose findings are a function of (inventory, data): the builtin one. */
export interface RematchableScanner {
  readonly name: string;
  vulnerabilityData(): Promise<{ version: string; db: VulnerabilityIndex }>;
}

export interface RematchDeps {
  inventories: { get(scanner: string, digest: string): Promise<StoredInventory | null>; touch(scanner: string, digest: string): Promise<void> };
  results: ScanResultStore;
  approved: { list(): Promise<ApprovedDigest[]> };
  events: { publish(event: DomainEvent): Promise<void> };
  logger: Logger;
}

export interface RematchResult {
  scanner: string;
  dbVersion: string;
  /** Approved digests looked at. */
  digests: number;
  /** Re-matched (their report was older than the data). */
  rematched: number;
  /** Whose findings changed (an event was published for each of their approvals). */
  changed: number;
  /** Approved digests without a kept inventory (scanned before inventories were kept, or expired). */
  missing: string[];
}

/** A finding's identity for "did the findings change": advisory and where it was found. */
function keyOf(f: Finding): string {
  return [f.id, f.kind, f.package, f.ecosystem, f.installedVersion, f.fixedVersion, f.severity, f.path, f.layer, f.platform].map((v) => v ?? '').join('\u0000');
}

export function sameFindings(a: readonly Finding[], b: readonly Finding[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a.map(keyOf));
  return b.every((f) => keys.has(keyOf(f)));
}

export class RematchService {
  constructor(private readonly d: RematchDeps) {}

  /** Re-matches every approved digest whose stored `scanner` report predates the scanner's current data. */
  async rematchAll(scanner: RematchableScanner): Promise<RematchResult> {
    const data = await scanner.vulnerabilityData();
    const version = data.version;
    // One pass, one data version: each distinct package is looked up once across the fleet.
    const db = new MemoizedIndex(data.db);
    const result: RematchResult = { scanner: scanner.name, dbVersion: version, digests: 0, rematched: 0, changed: 0, missing: [] };
    for (const approved of await this.d.approved.list()) {
      result.digests += 1;
      const outcome = await this.rematchOne(scanner.name, approved, version, db);
      if (outcome === 'missing') result.missing.push(approved.digest);
      if (outcome === 'changed' || outcome === 'same') result.rematched += 1;
      if (outcome === 'changed') result.changed += 1;
      // Matching is CPU work on the worker's event loop: let its other jobs breathe in between.
      await yieldToLoop();
    }
    this.d.logger.info({ scanner: scanner.name, dbVersion: version, digests: result.digests, rematched: result.rematched, changed: result.changed, missing: result.missing.length }, 're-matched approved digests from their inventories');
    return result;
  }

  async rematchOne(scanner: string, approved: ApprovedDigest, version: string, db: VulnerabilityIndex): Promise<'missing' | 'current' | 'same' | 'changed'> {
    const previous = await this.d.results.get(scanner, approved.digest);
    if (previous?.status === 'succeeded' && previous.dbVersion === version) return 'current';
    const stored = await this.d.inventories.get(scanner, approved.digest);
    if (!stored) return 'missing';
    const startedAt = new Date().toISOString();
    const findings = matchInventory(platformInventories(stored), db);
    const report: ScanReport = {
      scanner, status: 'succeeded', summary: summarize(findings), findings, startedAt, finishedAt: new Date().toISOString(), dbVersion: version,
    };
    await this.d.results.put(approved.digest, report);
    await this.d.inventories.touch(scanner, approved.digest);
    if (previous && sameFindings(previous.findings, findings)) return 'same';
    for (const { team, repository } of approved.approvals) {
      await this.d.events.publish({
        type: FINDINGS_UPDATED, actor: 'system', target: `approval/${team}/${approved.digest}`,
        details: { team, repository, digest: approved.digest, scanner, dbVersion: version },
      });
    }
    return 'changed';
  }
}
