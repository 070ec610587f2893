/**
 * Turns one remote scan into a {@link ScanReport}, the same way for Clair and Harbor: a scan
 * that ran and failed (the scanner could not pull a layer, answered off-spec, the image is
 * unusable) resolves as `status: 'failed'` with the error's code; a scanner that cannot be
 * reached, or any other temporary fault, is thrown so that the pipeline retries later.
 */
import { toAppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { summarize, type Finding, type ScanReport, type ScanTarget } from '../types';
import type { Clock } from '../remote';

export interface RemoteScanRun {
  scanner: string;
  target: ScanTarget;
  clock: Clock;
  logger: Logger;
  /** Scans and returns the findings; throws an AppError on failure. */
  run(): Promise<Finding[]>;
  /** Read after a successful scan; a failure to read it leaves the field out. */
  dbVersion(): Promise<string>;
}

export async function runRemoteScan(r: RemoteScanRun): Promise<ScanReport> {
  const startedAt = new Date(r.clock.now()).toISOString();
  const where = { 'container.image.name': r.target.repository, 'container.image.hash.all': [r.target.digest] };
  try {
    const findings = await r.run();
    const dbVersion = await r.dbVersion().catch(() => undefined);
    r.logger.info({ ...where, findings: findings.length }, 'scan finished');
    return {
      scanner: r.scanner,
      status: 'succeeded',
      summary: summarize(findings),
      findings,
      startedAt,
      finishedAt: new Date(r.clock.now()).toISOString(),
      ...(dbVersion ? { dbVersion } : {}),
    };
  } catch (err) {
    const e = toAppError(err, 'SCAN_FAILED');
    if (e.temporary || e.code === 'SCANNER_UNAVAILABLE' || e.code === 'INTERNAL') throw e;
    r.logger.warn({ ...where, error: { code: e.code, message: e.message } }, 'scan failed');
    return {
      scanner: r.scanner,
      status: 'failed',
      summary: summarize([]),
      findings: [],
      startedAt,
      finishedAt: new Date(r.clock.now()).toISOString(),
      error: { code: e.code, message: e.message },
    };
  }
}
