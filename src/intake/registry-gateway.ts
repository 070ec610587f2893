/**
 * The pipeline's registry operations (IntakeRegistry) over the registry module: resolving
 * through an upstream's reverse proxy, staging with a Mover, and promotion inside the
 * internal registry with the copy engine (cross-repository mounts, so no layer bytes are
 * copied twice; manifests by digest, then the tag, last, so that nothing is ever tagged
 * half-promoted).
 */
import { AppError, isAppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { copyImage } from '../registry';
import type { CopyOptions, Mover } from '../registry';
import { apiReference, normalizeRegistryHost, type ImageRef } from '../registry';
import type { RegistryClient, RegistryWriter } from '../registry/types';
import type { IntakeRegistry, StageResult } from './ports';

/** Errors of a referrers index that is there but cannot be read as one: retrying does not help. */
const UNREADABLE_INDEX: ReadonlySet<string> = new Set(['MANIFEST_INVALID', 'MANIFEST_TOO_LARGE']);

export interface GatewayDeps {
  /** The client of an upstream through its endpoint; throws UPSTREAM_NOT_ALLOWED otherwise. */
  upstreamClient(registry: string): RegistryClient;
  internal: RegistryWriter;
  /** The host that names the internal registry in references handed to the mover. */
  internalHost: string;
  mover: Mover;
  /** Parallelism and retries of promotion's copy. @defaultValue the copy engine's (4 jobs, 5 retries) */
  copy?: Pick<CopyOptions, 'jobs' | 'retries' | 'retryBaseMs'>;
  logger?: Logger;
  /**
   * What refers to an image in the internal registry and goes with it (its SBOM referrers and
   * their `sha256-<hex>` index tag, scanners/sbom/referrer.ts). @defaultValue none
   */
  referrers?: ImageReferrers;
}

/** The referrers of an image kept by Portcullis in the internal registry. */
export interface ImageReferrers {
  /** Takes the referrers of `digest` out of `repository`; idempotent, the image need not be there. */
  detach(repository: string, digest: string): Promise<void>;
}

export class RegistryGateway implements IntakeRegistry {
  readonly internal: RegistryClient;
  readonly internalUrl: string;

  constructor(private readonly d: GatewayDeps) {
    this.internal = d.internal;
    this.internalUrl = d.internal.url;
  }

  /**
   * The upstream client of `registry`. The internal registry is never a source, even when
   * someone lists it in `upstreams`: copying out of it would hand a requester another team's
   * approved image, or a quarantined one, with the service's own credentials.
   * @throws AppError UPSTREAM_NOT_ALLOWED
   */
  private upstream(registry: string): RegistryClient {
    if (normalizeRegistryHost(registry) === normalizeRegistryHost(this.d.internalHost)) {
      throw new AppError('UPSTREAM_NOT_ALLOWED', `registry ${registry} is the internal registry; images are requested from an upstream`, { details: { registry } });
    }
    return this.d.upstreamClient(registry);
  }

  async resolve(ref: ImageRef): Promise<string> {
    const client = this.upstream(ref.registry);
    const head = await client.headManifest(ref.repository, apiReference(ref));
    if (!head) throw new AppError('IMAGE_NOT_FOUND', `${ref.registry}/${ref.repository}:${apiReference(ref)} does not exist upstream`);
    return head.digest;
  }

  async stage(source: ImageRef & { digest: string }, repository: string, platforms: string[]): Promise<StageResult> {
    // The scan that follows reads the staged manifests back: the internal client keeps them for it.
    const opts: CopyOptions = { keepManifests: true, ...(platforms.length ? { platforms, writeIndex: platforms.length > 1 } : {}) };
    // The mover picks its own clients by host; checking here that the host is an allowed
    // upstream (and not the internal registry) means it can only pick an upstream's.
    this.upstream(source.registry);
    const { tag: _tag, ...pinned } = source;
    // A byte-for-byte mover must land exactly the source digest; an engine re-encodes, so it
    // can only be told where to put the image and reports the digest it made.
    const dst = this.d.mover.preservesDigest && !platforms.length
      ? { registry: this.d.internalHost, repository, digest: source.digest }
      : { registry: this.d.internalHost, repository };
    const result = await this.d.mover.copy(pinned, dst, opts);
    // An index the mover rewrote (children it could not vouch for dropped, issue 8.1) is a new identity, like a re-encoded image.
    const rewritten = result.mapping[result.sourceDigest] !== undefined;
    return { digest: result.digest, sourceDigest: result.sourceDigest, preservesDigest: this.d.mover.preservesDigest && !rewritten, mover: this.d.mover.name };
  }

  /**
   * The copy engine with the internal registry on both sides: blobs already in the target are
   * skipped, the others mounted from quarantine (bytes copied only if the registry declines
   * the mount), in parallel and each retried on its own; children before the index; the tag
   * last. Running it again after a failure redoes only what is missing.
   */
  async promote(fromRepository: string, toRepository: string, digest: string, tag: string): Promise<void> {
    const internal = this.d.internal;
    await copyImage(
      { client: internal, repository: fromRepository, reference: digest },
      { client: internal, repository: toRepository, tag },
      { jobs: this.d.copy?.jobs, retries: this.d.copy?.retries, retryBaseMs: this.d.copy?.retryBaseMs },
      this.d.logger,
    );
  }

  async internalDigest(repository: string, tag: string): Promise<string | null> {
    return (await this.d.internal.headManifest(repository, tag))?.digest ?? null;
  }

  async unpublish(repository: string, digest: string): Promise<void> {
    // Its referrers first, and again on a retry when the image is already gone: none is left
    // listed under a tag naming a deleted image. The image itself never waits on them: it is
    // deleted even when they could not be, and their error then makes the caller try again.
    let failed: unknown;
    await this.d.referrers?.detach(repository, digest).catch((err: unknown) => { failed = err; });
    // Deleting by digest removes every tag on it in this repository; absent means already done.
    if (await this.d.internal.headManifest(repository, digest)) await this.d.internal.deleteManifest(repository, digest);
    if (failed === undefined) return;
    // A referrers index our reader refuses (another tool wrote it broken) is not mended by trying
    // again: the image is gone, the index is left for a person to look at, and the caller (a
    // quarantine purge, a revocation's unpublish) goes on instead of failing at it for ever.
    if (isAppError(failed) && !failed.temporary && UNREADABLE_INDEX.has(failed.code)) {
      this.d.logger?.error({ error: failed, repository, digest }, 'the image was deleted; its SBOM referrers index cannot be read and is left as it is');
      return;
    }
    throw failed;
  }
}
