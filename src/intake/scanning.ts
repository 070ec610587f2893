/**
 * Runs the configured scanners on a staged digest, reusing stored reports (issue 5 point 8):
 * a digest's bytes never change, so a report stays valid until the scanner's vulnerability
 * data does. Each scanner's `dbVersion()` is compared with the `dbVersion` of its stored
 * report; only a scanner whose data changed (or that has no report, or whose last scan
 * failed) scans again. A failed scan is never reused: it may have been a limit or a fault
 * that is gone now, and scanning again costs less than trusting a failure forever.
 */
import type { Logger } from '../lib/logger';
import type { ScannerAdapter, ScanReport, ScanTarget } from '../scanners/types';
import type { ScanResultStore } from '../store/types';

export interface ScanOutcome {
  /** One report per scanner, in configuration order. */
  reports: ScanReport[];
  /** Names of the scanners whose stored report was reused. */
  reused: string[];
}

export class ScanRunner {
  constructor(
    private readonly scanners: readonly ScannerAdapter[],
    private readonly results: ScanResultStore,
    private readonly logger: Logger,
  ) {}

  /** Scans `target` with every scanner, or reuses what is stored for its digest. */
  async run(target: ScanTarget): Promise<ScanOutcome> {
    const reports: ScanReport[] = [];
    const reused: string[] = [];
    for (const scanner of this.scanners) {
      const version = await scanner.dbVersion();
      const stored = await this.results.get(scanner.name, target.digest);
      if (stored && stored.status === 'succeeded' && stored.dbVersion === version) {
        reports.push(stored);
        reused.push(scanner.name);
        continue;
      }
      const report = await scanner.scan(target);
      // The report names the data it really ran against; without one, the version read before it.
      const saved: ScanReport = { ...report, dbVersion: report.dbVersion ?? version };
      if (saved.status === 'succeeded') await this.results.put(target.digest, saved);
      this.logger.info({ scanner: scanner.name, digest: target.digest, status: saved.status, dbVersion: saved.dbVersion }, 'scanned');
      reports.push(saved);
    }
    return { reports, reused };
  }
}
