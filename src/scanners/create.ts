/** One {@link ScannerAdapter} per configured entry. */
import { BuiltinScanner } from './builtin/adapter';
import type { ScanThreadPool } from './builtin/threads/pool';
import { ClairScanner } from './clair/adapter';
import type { ScannersConfig } from './config';
import { HarborScanner } from './harbor/adapter';
import type { RemoteScannerDeps } from './remote';
import type { ScannerAdapter } from './types';

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
