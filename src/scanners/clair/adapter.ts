/**
 * The Clair v4 scanner adapter. For each image manifest of the target (an index is scanned
 * child by child, see images.ts) it:
 * 1. posts the manifest to the indexer, with each layer's blob URL in the internal
 *    registry's (quarantine) repository and the `Authorization` header Clair needs there;
 * 2. follows the index to a terminal state (`IndexFinished`, or `IndexError` = failed scan);
 * 3. reads the matcher's vulnerability report: 200/201 done, 202 not ready (poll), 404 not
 *    indexed (index again, once).
 *
 * dbVersion is `clair:<index_state>:<matcher data>`: the indexer's opaque state changes
 * when its scanners change (the spec says to re-index then), and the matcher part hashes the
 * latest update operation of each updater, so it changes when vulnerability data is
 * refreshed. When the matcher does not serve update operations (internal, unstable API),
 * that part is the UTC day, so stored results are reused for at most a day.
 */
import { AppError } from '../../lib/errors';
import { scrubSecrets, type Logger } from '../../lib/logger';
import type { ScanReport, ScannerAdapter, ScanTarget, Finding } from '../types';
import { IndexStates, OCI_LAYER_TYPE, type ClairLayer, type ClairManifest, type IndexReport } from './api';
import { ClairClient } from './client';
import type { ClairScannerConfig } from './config';
import { systemClock, type Clock, type RemoteScannerDeps } from '../remote';
import { blobUrl, imagesToScan, mergeFindings, type ImageToScan } from './images';
import { normalizeClairReport } from './normalize';
import { withCoverage } from '../coverage';
import { runRemoteScan } from './report';
import { callbackProblem, deleteNotification, notificationManifests } from './notifier';

/** Docker layer types have exact OCI equivalents; the spec's `media_type` only takes OCI ones. */
const OCI_EQUIVALENT: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
};

/** Builds the Clair Manifest of one image (exported for tests). */
export function clairManifest(image: ImageToScan, target: ScanTarget, authorization: string | undefined): ClairManifest {
  return {
    hash: image.digest,
    layers: image.layers.map((l): ClairLayer => {
      const mediaType = OCI_EQUIVALENT[l.mediaType] ?? l.mediaType;
      return {
        hash: l.digest,
        uri: blobUrl(target.registryUrl, target.repository, l.digest),
        ...(authorization ? { headers: { Authorization: [authorization] } } : {}),
        ...(OCI_LAYER_TYPE.test(mediaType) ? { media_type: mediaType } : {}),
      };
    }),
  };
}

function indexFailed(report: IndexReport): AppError {
  return new AppError('SCAN_FAILED', `Clair could not index ${report.manifest_hash}: ${scrubSecrets(report.err || 'IndexError without a message')}`);
}

export class ClairScanner implements ScannerAdapter {
  readonly type = 'clair' as const;
  readonly name: string;
  private readonly client: ClairClient;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(private readonly config: ClairScannerConfig, private readonly deps: RemoteScannerDeps) {
    this.name = config.name;
    this.client = new ClairClient(config, deps.http);
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger.child({ module: 'scanners.clair', scanner: config.name });
  }

  /** Both services answer: the indexer's state and the matcher's update operations. */
  async check(): Promise<void> {
    await this.client.indexState();
    await this.client.vulnerabilityDataVersion();
  }

  async dbVersion(): Promise<string> {
    const state = await this.client.indexState();
    const data = await this.client.vulnerabilityDataVersion();
    return `clair:${state}:${data ?? `day-${new Date(this.clock.now()).toISOString().slice(0, 10)}`}`;
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
        for (const image of images) lists.push(await this.scanImage(clairManifest(image, target, authorization), deadline));
        // An unscored severity is said as a coverage finding (fail closed, see ../coverage.ts).
        return withCoverage(mergeFindings(lists));
      },
    });
  }

  /**
   * The full vulnerability report of an already scanned digest read again (after a notifier
   * webhook): the matcher's report of each image, without indexing first; an image Clair no
   * longer has is indexed again. Normalized exactly as {@link scan} does.
   */
  reread(target: ScanTarget): Promise<ScanReport> {
    return runRemoteScan({
      scanner: this.name, target, clock: this.clock, logger: this.logger, dbVersion: () => this.dbVersion(),
      run: async () => {
        const deadline = this.clock.now() + this.config.timeoutMs;
        const images = await imagesToScan(target);
        const authorization = await this.deps.registryAuthorization(target.repository);
        const lists: Finding[][] = [];
        for (const image of images) lists.push(await this.scanImage(clairManifest(image, target, authorization), deadline, false));
        return withCoverage(mergeFindings(lists));
      },
    });
  }

  /** The image manifests Clair indexed for `target`: what its notifications name. */
  async manifestsOf(target: ScanTarget): Promise<string[]> {
    return (await imagesToScan(target)).map((i) => i.digest);
  }

  /** Why the webhook's `callback` must not be fetched, or null (see ./notifier.ts). */
  callbackProblem(callback: string, notificationId: string): string | null {
    return callbackProblem(this.config, callback, notificationId);
  }

  /** Every manifest a notification names (all pages); refuses a callback {@link callbackProblem} refuses. */
  async notificationManifests(callback: string, notificationId: string): Promise<string[]> {
    this.checkCallback(callback, notificationId);
    return notificationManifests(this.client, callback, this.config.notifierPageSize);
  }

  async deleteNotification(callback: string, notificationId: string): Promise<void> {
    this.checkCallback(callback, notificationId);
    await deleteNotification(this.client, callback);
  }

  private checkCallback(callback: string, notificationId: string): void {
    const problem = this.callbackProblem(callback, notificationId);
    if (problem) throw new AppError('CALLBACK_REFUSED', `Clair notification ${notificationId}: ${problem}`);
  }

  private async scanImage(manifest: ClairManifest, deadline: number, indexFirst = true): Promise<Finding[]> {
    if (indexFirst) await this.ensureIndexed(manifest, deadline);
    let reindexed = false;
    for (;;) {
      const answer = await this.client.vulnerabilityReport(manifest.hash);
      if (answer.kind === 'report') return normalizeClairReport(answer.report);
      if (answer.kind === 'not-ready') {
        await this.pause(deadline, `Clair's matcher was not ready for ${manifest.hash}`);
      } else {
        // Clair may garbage-collect index reports; index again once, then give up.
        if (reindexed) throw new AppError('SCAN_FAILED', `Clair has no index report for ${manifest.hash}, even after indexing it again`);
        reindexed = true;
        await this.ensureIndexed(manifest, deadline);
      }
    }
  }

  private async ensureIndexed(manifest: ClairManifest, deadline: number): Promise<void> {
    let report: IndexReport | null;
    try {
      report = await this.client.index(manifest);
    } catch (err) {
      // Newer Clair answers a failed index with a 5xx instead of a 201 IndexError report;
      // the stored report tells a broken image (permanent) from a broken Clair (temporary).
      if (!(err instanceof AppError) || err.code !== 'SCANNER_UNAVAILABLE' || !err.temporary) throw err;
      const stored = await this.client.indexReport(manifest.hash).catch(() => null);
      if (stored?.state === IndexStates.error) throw indexFailed(stored);
      throw err;
    }
    // Another request may be indexing the same manifest: follow it to a terminal state.
    while (report.state !== IndexStates.finished && report.state !== IndexStates.error) {
      this.logger.debug({ 'container.image.hash.all': [manifest.hash], state: report.state }, 'waiting for Clair to index');
      await this.pause(deadline, `Clair did not finish indexing ${manifest.hash}`);
      report = await this.client.indexReport(manifest.hash);
      if (!report) throw new AppError('SCAN_FAILED', `Clair lost the index report of ${manifest.hash} while indexing`);
    }
    if (report.state === IndexStates.error || !report.success) throw indexFailed(report);
  }

  private async pause(deadline: number, what: string): Promise<void> {
    if (this.clock.now() + this.config.pollIntervalMs > deadline) {
      throw new AppError('SCANNER_UNAVAILABLE', `${what} within ${this.config.timeoutMs} ms`, { temporary: true });
    }
    await this.clock.sleep(this.config.pollIntervalMs);
  }
}
