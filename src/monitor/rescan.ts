/**
 * Scheduled rescans of approved digests (issue 13.2), spread over `monitor.rescanEvery`:
 * - by each Harbor-type scanner, every period: its data changes without telling us;
 * - by each builtin scanner, once, for digests approved before inventories were kept: the
 *   scan goes through the registry and keeps their inventory (the builtin adapter's sink),
 *   so from then on the re-match (./rematch.ts) covers them without registry traffic.
 *
 * Each (scanner, digest) has a stable slot in the period, a hash of both; the job runs every
 * few minutes and takes the digests whose slot fell in the window since the previous run (the
 * window is kept in Redis per scanner, so every digest comes once per period whichever worker
 * runs the job), at most `maxPerRun` a run: what is left waits for the next run. The ledger is
 * read at each run and each digest checked again before its scan, so a digest revoked
 * meanwhile is skipped. Reports are stored and `findings.updated` published as the re-match does.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { Logger } from '../lib/logger';
import type { ScanReport, ScanTarget } from '../scanners/types';
import type { ApprovedDigest } from './approved-digests';
import { approvedTarget, storeRescan, type RescanSink, type RescanTargets } from './rescan-store';

/** Digests rescanned per scanner and run at most. @defaultValue of {@link RescanDeps.maxPerRun} */
export const RESCAN_MAX_PER_RUN = 100;

/** How often the job runs for a period: every `period / 96`, between 1 s and 5 min. */
export function rescanTickMs(periodMs: number): number {
  return Math.min(5 * 60_000, Math.max(1000, Math.floor(periodMs / 96)));
}

export interface RescanScanner {
  readonly name: string;
  readonly type: string;
  scan(target: ScanTarget): Promise<ScanReport>;
  dbVersion(): Promise<string>;
}

export interface RescanDeps extends RescanSink {
  /** Harbor-type scanners: every approved digest they scanned, every period. */
  periodic: readonly RescanScanner[];
  /** Builtin scanners: digests they scanned that have no kept inventory, once. */
  missingInventory: readonly RescanScanner[];
  hasInventory(scanner: string, digest: string): Promise<boolean>;
  approved: { list(): Promise<ApprovedDigest[]> };
  targets: RescanTargets;
  redis: Redis;
  prefix: string;
  periodMs: number;
  now: () => Date;
  logger: Logger;
  /** @defaultValue {@link RESCAN_MAX_PER_RUN} */
  maxPerRun?: number;
}

export interface ScannerRun {
  scanner: string;
  /** The window of slots this run covered, epoch ms (from exclusive, to inclusive). */
  from: number;
  to: number;
  rescanned: string[];
  changed: string[];
  /** Due, but no longer approved, not scanned by this scanner, or (builtin) already inventoried. */
  skipped: string[];
  failed: string[];
  /** Due, left for the next run (the per-run bound). */
  deferred: number;
  /** The run's lease was lost (its process stalled past the TTL): it stopped, leaving its window to the run that took over. */
  leaseLost?: true;
}

export interface RunOptions {
  /** Whether the run still holds its lease (queue/rescan.ts); checked before each digest. */
  held?: () => boolean;
}

/** The offset of (scanner, digest) in the period, stable across runs and workers. */
export function slotOf(scanner: string, digest: string, periodMs: number): number {
  return createHash('sha256').update(`${scanner}|${digest}`).digest().readUIntBE(0, 6) % periodMs;
}

/** The first time after `from` at which `slot` comes round. */
function nextOccurrence(slot: number, from: number, periodMs: number): number {
  const t = from - (((from - slot) % periodMs) + periodMs) % periodMs;
  return t > from ? t : t + periodMs;
}

export class RescanService {
  constructor(private readonly d: RescanDeps) {}

  private lastKey(scanner: string): string {
    return `${this.d.prefix}:rescan:last:${scanner}`;
  }

  /** One run for every scanner (the job holds a lease, so runs never overlap). */
  async run(options: RunOptions = {}): Promise<ScannerRun[]> {
    const scanners = [...this.d.periodic.map((s) => ({ s, once: false })), ...this.d.missingInventory.map((s) => ({ s, once: true }))];
    if (scanners.length === 0) return [];
    const approved = await this.d.approved.list();
    const out: ScannerRun[] = [];
    const held = options.held ?? (() => true);
    for (const { s, once } of scanners) {
      if (!held()) break;
      const run = await this.runScanner(s, once, approved, held);
      out.push(run);
      if (run.leaseLost) break;
    }
    return out;
  }

  private async runScanner(scanner: RescanScanner, once: boolean, approved: readonly ApprovedDigest[], held: () => boolean): Promise<ScannerRun> {
    const P = this.d.periodMs;
    const to = this.d.now().getTime();
    const last = Number(await this.d.redis.get(this.lastKey(scanner.name)));
    // First run: the last tick; after a long stop: one period at most (each digest once).
    const from = Math.max(Number.isFinite(last) && last > 0 ? last : to - rescanTickMs(P), to - P);
    const run: ScannerRun = { scanner: scanner.name, from, to, rescanned: [], changed: [], skipped: [], failed: [], deferred: 0 };
    const due = approved
      .map((a) => ({ a, at: nextOccurrence(slotOf(scanner.name, a.digest, P), from, P) }))
      .filter((x) => x.at <= to)
      .sort((x, y) => x.at - y.at);
    const max = this.d.maxPerRun ?? RESCAN_MAX_PER_RUN;
    let reached = to;
    for (const [i, { a, at }] of due.entries()) {
      if (!held()) {
        // Another worker may be running this window now: its run moves the window, not this one.
        this.d.logger.warn({ scanner: scanner.name, rescanned: run.rescanned.length, left: due.length - i }, 'rescan stopped: its lease was lost (the process stalled past it); the run that took over goes on');
        run.leaseLost = true;
        run.deferred = due.length - i;
        return run;
      }
      if (run.rescanned.length + run.failed.length >= max) {
        // The rest of the window waits: the next run starts just before this slot.
        reached = at - 1;
        run.deferred = due.length - i;
        break;
      }
      const target = once && await this.d.hasInventory(scanner.name, a.digest) ? null : await approvedTarget(this.d.targets, a, scanner.name);
      if (!target) { run.skipped.push(a.digest); continue; }
      let report: ScanReport;
      try {
        report = await scanner.scan(target);
      } catch (err) {
        // The scanner is away (a temporary fault): stop here; this digest is first in the next run.
        this.d.logger.warn({ error: err, scanner: scanner.name, digest: a.digest }, 'rescan stopped: the scanner did not answer; continuing at the next run');
        reached = at - 1;
        run.deferred = due.length - i;
        break;
      }
      const outcome = await storeRescan(this.d, a, report, () => scanner.dbVersion());
      if (outcome === 'failed') {
        run.failed.push(a.digest);
        this.d.logger.warn({ scanner: scanner.name, digest: a.digest, error: report.error }, 'rescan failed; the stored report stays');
        continue;
      }
      run.rescanned.push(a.digest);
      if (outcome === 'changed') run.changed.push(a.digest);
    }
    await this.d.redis.set(this.lastKey(scanner.name), String(reached));
    if (due.length) this.d.logger.info({ scanner: scanner.name, due: due.length, rescanned: run.rescanned.length, changed: run.changed.length, skipped: run.skipped.length, failed: run.failed.length, deferred: run.deferred }, once ? 'rescanned approved digests without a kept inventory' : 'rescanned approved digests');
    return run;
  }
}
