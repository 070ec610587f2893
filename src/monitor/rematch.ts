/**
 * Re-matches approved digests against new vulnerability data from their stored inventories
 * (issue 13.1): no registry traffic, no layer read. For each approved digest whose stored
 * report was made with older data, the kept inventory (./inventory-store.ts, its compact
 * matching form) is matched with the builtin scanner's own matcher (../scanners/builtin/match.ts)
 * through one memo per pass (each distinct package looked up once for the whole fleet), in
 * batches read one round trip each and one batch ahead of the matching; the report is stored where
 * scan reports live (per digest and scanner), and when the findings differ from the previous
 * report a `findings.updated {team, repository, digest, scanner}` event is published for every
 * team and image the digest is approved for (BOARD contract: health re-evaluates on it).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { DomainEvent } from '../intake';
import type { Logger } from '../lib/logger';
import { matchInventory, MemoizedIndex, type PlatformInventory, type VulnerabilityIndex } from '../scanners';
import { summarize, type Finding, type ScanReport } from '../scanners/types';
import type { ScanResultStore } from '../store/types';
import type { ApprovedDigest } from './approved-digests';
import type { RedisInventoryStore } from './inventory-store';

export const FINDINGS_UPDATED = 'findings.updated';

/** A scanner whose findings are a function of (inventory, data): the builtin one. */
export interface RematchableScanner {
  readonly name: string;
  vulnerabilityData(): Promise<{ version: string; db: VulnerabilityIndex }>;
}

export interface RematchDeps {
  inventories: Pick<RedisInventoryStore, 'platforms' | 'touchAll'>;
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

/** Digests read, matched and written per round trip (and read one batch ahead of the matching). */
const BATCH = 32;

type Outcome = 'missing' | 'current' | 'same' | 'changed';

interface Loaded {
  approved: ApprovedDigest;
  previous: ScanReport | null;
  /** Absent when the previous report is current (nothing to do). */
  images?: PlatformInventory[] | null;
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
    const all = await this.d.approved.list();
    const batches: ApprovedDigest[][] = [];
    for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH));
    // The next batch's reads (Redis, inflating off the event loop) overlap this batch's matching.
    let next = batches.length > 0 ? this.load(scanner.name, batches[0]!, version) : undefined;
    for (let b = 0; b < batches.length; b++) {
      const loaded = await next!;
      next = b + 1 < batches.length ? this.load(scanner.name, batches[b + 1]!, version) : undefined;
      // Awaited on the next turn of the loop; until then a failure must not count as unhandled.
      next?.catch(() => undefined);
      for (const [i, outcome] of (await this.process(scanner.name, loaded, version, db)).entries()) {
        result.digests += 1;
        if (outcome === 'missing') result.missing.push(loaded[i]!.approved.digest);
        if (outcome === 'changed' || outcome === 'same') result.rematched += 1;
        if (outcome === 'changed') result.changed += 1;
      }
    }
    this.d.logger.info({ scanner: scanner.name, dbVersion: version, digests: result.digests, rematched: result.rematched, changed: result.changed, missing: result.missing.length }, 're-matched approved digests from their inventories');
    return result;
  }

  async rematchOne(scanner: string, approved: ApprovedDigest, version: string, db: VulnerabilityIndex): Promise<Outcome> {
    const [outcome] = await this.process(scanner, await this.load(scanner, [approved], version), version, db);
    return outcome!;
  }

  /** The previous reports of `batch`, and the kept inventories of those whose report is not current. */
  private async load(scanner: string, batch: readonly ApprovedDigest[], version: string): Promise<Loaded[]> {
    const previous = await Promise.all(batch.map((a) => this.d.results.get(scanner, a.digest)));
    const loaded: Loaded[] = batch.map((approved, i) => ({ approved, previous: previous[i] ?? null }));
    const stale = loaded.filter((l) => !(l.previous?.status === 'succeeded' && l.previous.dbVersion === version));
    const images = await this.d.inventories.platforms(scanner, stale.map((l) => l.approved.digest));
    stale.forEach((l, i) => { l.images = images[i] ?? null; });
    return loaded;
  }

  /** Matches a loaded batch, writes its reports together, then publishes for each digest whose findings changed, in order. */
  private async process(scanner: string, batch: readonly Loaded[], version: string, db: VulnerabilityIndex): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const reports: Array<{ digest: string; report: ScanReport }> = [];
    for (const { approved, previous, images } of batch) {
      if (images === undefined) { outcomes.push('current'); continue; }
      if (images === null) { outcomes.push('missing'); continue; }
      const startedAt = new Date().toISOString();
      const findings = matchInventory(images, db);
      const report: ScanReport = {
        scanner, status: 'succeeded', summary: summarize(findings), findings, startedAt, finishedAt: new Date().toISOString(), dbVersion: version,
      };
      reports.push({ digest: approved.digest, report });
      outcomes.push(previous && sameFindings(previous.findings, findings) ? 'same' : 'changed');
      // Matching is CPU work on the worker's event loop: let its other jobs breathe in between.
      await yieldToLoop();
    }
    await Promise.all(reports.map(({ digest, report }) => this.d.results.put(digest, report)));
    await this.d.inventories.touchAll(scanner, reports.map((r) => r.digest));
    for (const [i, { approved }] of batch.entries()) {
      if (outcomes[i] !== 'changed') continue;
      for (const { team, repository } of approved.approvals) {
        await this.d.events.publish({
          type: FINDINGS_UPDATED, actor: 'system', target: `approval/${team}/${approved.digest}`,
          details: { team, repository, digest: approved.digest, scanner, dbVersion: version },
        });
      }
    }
    return outcomes;
  }
}
