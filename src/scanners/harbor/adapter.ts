/**
 * The Harbor pluggable-scanner adapter (Scanner Adapter API v1.2). `check()` reads the
 * metadata and requires a vulnerability capability that consumes both image manifest types
 * and produces the v1.1 vulnerability report. For each image manifest of the target (an
 * index is scanned child by child, see ../clair/images.ts) `scan()` posts a ScanRequest
 * naming the internal registry and a pull authorization, then polls the report while the
 * adapter answers 302, waiting what its `Refresh-After` says (bounded), within `timeoutMs`.
 *
 * dbVersion is `harbor:<scanner name>/<version>:<vulnerability-database-updated-at>`; when
 * the adapter does not publish that property, the last part is the UTC day, so stored
 * results are reused for at most a day.
 */
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { systemClock, type Clock, type RemoteScannerDeps } from '../remote';
import { imagesToScan, mergeFindings, type ImageToScan } from '../clair/images';
import { runRemoteScan } from '../clair/report';
import { withCoverage } from '../coverage';
import type { Finding, ScanReport, ScannerAdapter, ScanTarget } from '../types';
import { DB_UPDATED_AT, HarborMediaTypes, sameMediaType, type ScannerMetadata, type ScanRequest } from './api';
import { HarborClient } from './client';
import type { HarborScannerConfig } from './config';
import { normalizeHarborReport } from './normalize';

/** Never poll faster than this, whatever `Refresh-After` says (0 would spin). */
const MIN_WAIT_MS = 250;

/** Why the metadata does not fit Portcullis, or null when it does (exported for tests). */
export function capabilityProblem(metadata: ScannerMetadata): string | null {
  const vuln = metadata.capabilities.filter((c) => c.type === undefined || c.type === 'vulnerability');
  const consumes = (t: string) => vuln.some((c) => c.consumes_mime_types.some((m) => sameMediaType(m, t)));
  const produces = vuln.some((c) => c.produces_mime_types.some((m) => sameMediaType(m, HarborMediaTypes.vulnerabilityReport)));
  const missing = [HarborMediaTypes.ociManifest, HarborMediaTypes.dockerManifest].filter((t) => !consumes(t));
  if (missing.length) return `it does not consume ${missing.join(' and ')}`;
  if (!produces) return `it does not produce ${HarborMediaTypes.vulnerabilityReport}`;
  return null;
}

export class HarborScanner implements ScannerAdapter {
  readonly type = 'harbor' as const;
  readonly name: string;
  private readonly client: HarborClient;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly config: HarborScannerConfig, private readonly deps: RemoteScannerDeps) {
    this.name = config.name;
    this.client = new HarborClient(config, deps.http);
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger.child({ module: 'scanners.harbor', scanner: config.name });
  }

  async check(): Promise<void> {
    const metadata = await this.client.metadata();
    const problem = capabilityProblem(metadata);
    if (problem) throw new AppError('SCANNER_UNAVAILABLE', `Harbor scanner ${this.name} cannot be used: ${problem}`);
  }

  async dbVersion(): Promise<string> {
    const { scanner, properties } = await this.client.metadata();
    const updated = properties?.[DB_UPDATED_AT] ?? `day-${new Date(this.clock.now()).toISOString().slice(0, 10)}`;
    return `harbor:${scanner.name ?? 'unknown'}/${scanner.version ?? 'unknown'}:${updated}`;
  }

  scan(target: ScanTarget): Promise<ScanReport> {
    return runRemoteScan({
      scanner: this.name,
      target,
      clock: this.clock,
      logger: this.logger,
      dbVersion: () => this.dbVersion(),
      run: async () => {
        const deadline = this.clock.now() + this.config.timeoutMs;
        const images = await imagesToScan(target);
        const authorization = await this.deps.registryAuthorization(target.repository);
        const lists: Finding[][] = [];
        for (const image of images) lists.push(await this.scanImage(image, target, authorization, deadline));
        // An unscored severity is said as a coverage finding (fail closed, see ../coverage.ts).
        return withCoverage(mergeFindings(lists));
      },
    });
  }

  private async scanImage(image: ImageToScan, target: ScanTarget, authorization: string | undefined, deadline: number): Promise<Finding[]> {
    const request: ScanRequest = {
      registry: { url: target.registryUrl.replace(/\/+$/, ''), ...(authorization ? { authorization } : {}) },
      artifact: { repository: target.repository, digest: image.digest, mime_type: image.mediaType },
      enabled_capabilities: [{ type: 'vulnerability', produces_mime_types: [HarborMediaTypes.vulnerabilityReport] }],
    };
    const id = await this.client.requestScan(request);
    for (;;) {
      const answer = await this.client.report(id);
      if (answer.kind === 'report') {
        const digest = answer.report.artifact?.digest;
        if (digest && digest !== image.digest) {
          throw new AppError('SCAN_FAILED', `Harbor scan report ${id} is for ${digest}, not ${image.digest}`);
        }
        return normalizeHarborReport(answer.report);
      }
      const wait = answer.refreshAfterS === undefined
        ? this.config.pollIntervalMs
        : Math.min(Math.max(answer.refreshAfterS * 1000, MIN_WAIT_MS), this.config.maxRefreshAfterMs);
      if (this.clock.now() + wait > deadline) {
        throw new AppError('SCANNER_UNAVAILABLE', `Harbor scanner ${this.name} did not finish ${image.digest} within ${this.config.timeoutMs} ms`, { temporary: true });
      }
      this.logger.debug({ 'container.image.hash.all': [image.digest], waitMs: wait }, 'scan report not ready');
      await this.clock.sleep(wait);
    }
  }
}
