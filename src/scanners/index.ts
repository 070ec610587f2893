/**
 * The scanners: one {@link ScannerAdapter} per configured entry. main.ts calls
 * {@link createScanners} once with the validated `scanners` section, then `check()` on each
 * adapter before it starts work.
 */
import { BuiltinScanner } from './builtin/adapter';
import { ClairScanner } from './clair/adapter';
import type { RemoteScannerDeps } from './clair/http';
import type { ScannersConfig } from './config';
import { HarborScanner } from './harbor/adapter';
import { ScanThreadPool } from './builtin/threads/pool';
import type { ScannerAdapter } from './types';

export { ScanThreadPool, type ScanThreadPoolOptions } from './builtin/threads/pool';

export { scannerConfigSchema, scannersConfigSchema, type ScannerConfig, type ScannersConfig } from './config';
export { parseSarif, parseSarifText, type CodeScan } from './sarif/normalize';
export type { Finding, ScanReport, ScanTarget, ScannerAdapter, Severity } from './types';

/**
 * @param threads the process's scan threads (config `worker.scanThreads`), shared by every
 *   builtin scanner; @defaultValue the shared pool, one thread per core
 */
export function createScanners(entries: ScannersConfig, remote: RemoteScannerDeps, threads?: ScanThreadPool): ScannerAdapter[] {
  return entries.map((entry): ScannerAdapter => {
    switch (entry.type) {
      case 'builtin':
        return new BuiltinScanner({ name: entry.name, osvPath: entry.osvPath, hardening: entry.hardening, limits: entry.limits, threads });
      case 'clair':
        return new ClairScanner(entry, remote);
      case 'harbor':
        return new HarborScanner(entry, remote);
    }
  });
}
