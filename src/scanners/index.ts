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
import type { ScannerAdapter } from './types';

export { scannerConfigSchema, scannersConfigSchema, type ScannerConfig, type ScannersConfig } from './config';
export { parseSarif, parseSarifText, type CodeScan } from './sarif/normalize';
export type { Finding, ScanReport, ScanTarget, ScannerAdapter, Severity } from './types';

export function createScanners(entries: ScannersConfig, remote: RemoteScannerDeps): ScannerAdapter[] {
  return entries.map((entry): ScannerAdapter => {
    switch (entry.type) {
      case 'builtin':
        return new BuiltinScanner({ name: entry.name, osvPath: entry.osvPath, hardening: entry.hardening, limits: entry.limits });
      case 'clair':
        return new ClairScanner(entry, remote);
      case 'harbor':
        return new HarborScanner(entry, remote);
    }
  });
}
