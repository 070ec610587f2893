/**
 * Counts each scan's outcome per scanner, around any adapter (wired in main.ts). A proxy, so that
 * whatever else an adapter offers (a pool to close, a database to reload) stays as it is.
 */
import type { ScannerAdapter, ScanReport, ScanTarget } from '../scanners/types';
import type { Metrics } from './metrics';

export function instrumentScanner<T extends ScannerAdapter>(scanner: T, metrics: Metrics): T {
  const scan = async (target: ScanTarget): Promise<ScanReport> => {
    try {
      const report = await scanner.scan(target);
      metrics.scans.inc({ scanner: scanner.name, outcome: report.status });
      return report;
    } catch (err) {
      metrics.scans.inc({ scanner: scanner.name, outcome: 'error' });
      throw err;
    }
  };
  return new Proxy(scanner, {
    get(target, prop) {
      if (prop === 'scan') return scan;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
