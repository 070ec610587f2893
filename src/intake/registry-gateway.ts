/**
 * The pipeline's registry operations (IntakeRegistry) over the registry module: resolving
 * through an upstream's reverse proxy, staging with a Mover, and promotion inside the
 * internal registry by cross-repository mounts (no layer bytes copied twice), manifests by
 * digest, then the tag, last, so that nothing is ever tagged half-promoted.
 */
import { AppError } from '../lib/errors';
import type { CopyOptions, Mover } from '../registry/mover';
import { apiReference, normalizeRegistryHost, type ImageRef } from '../registry/reference';
import type { RegistryClient, RegistryWriter } from '../registry/types';
import type { IntakeRegistry, StageResult } from './ports';

export interface GatewayDeps {
  /** The client of an upstream through its endpoint; throws UPSTREAM_NOT_ALLOWED otherwise. */
  upstreamClient(registry: string): RegistryClient;
  internal: RegistryWriter;
  /** The host that names the internal registry in references handed to the mover. */
  internalHost: string;
  mover: Mover;
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

interface Blobish { digest: string; size: number }

/** The blobs an image manifest refers to, or the children an index lists. */
function references(body: Buffer, mediaType: string): { children: string[]; blobs: Blobish[] } {
  const m = JSON.parse(body.toString('utf8')) as { manifests?: Blobish[]; config?: Blobish; layers?: Blobish[] };
  if (INDEX_TYPES.has(mediaType)) return { children: (m.manifests ?? []).map((c) => c.digest), blobs: [] };
  return { children: [], blobs: [...(m.config ? [m.config] : []), ...(m.layers ?? [])] };
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
    const opts: CopyOptions = platforms.length ? { platforms, writeIndex: platforms.length > 1 } : {};
    // The mover picks its own clients by host; checking here that the host is an allowed
    // upstream (and not the internal registry) means it can only pick an upstream's.
    this.upstream(source.registry);
    const { tag: _tag, ...pinned } = source;
    const result = await this.d.mover.copy(pinned, { registry: this.d.internalHost, repository, digest: source.digest }, opts);
    return { digest: result.digest, sourceDigest: result.sourceDigest, preservesDigest: this.d.mover.preservesDigest, mover: this.d.mover.name };
  }

  async promote(fromRepository: string, toRepository: string, digest: string, tag: string): Promise<void> {
    const root = await this.promoteManifest(fromRepository, toRepository, digest);
    await this.d.internal.putManifest(toRepository, tag, root.body, root.mediaType);
  }

  /** Children first, then blobs, then the manifest itself by digest (what it refers to must exist first). */
  private async promoteManifest(from: string, to: string, digest: string): Promise<{ body: Buffer; mediaType: string }> {
    const m = await this.d.internal.getManifest(from, digest);
    const refs = references(m.body, m.mediaType);
    for (const child of refs.children) await this.promoteManifest(from, to, child);
    for (const blob of refs.blobs) await this.mountBlob(from, to, blob);
    await this.d.internal.putManifest(to, digest, m.body, m.mediaType);
    return { body: m.body, mediaType: m.mediaType };
  }

  private async mountBlob(from: string, to: string, blob: Blobish): Promise<void> {
    const w = this.d.internal;
    if (await w.headBlob(to, blob.digest)) return;
    if (await w.mountBlob(to, blob.digest, from)) return;
    // The registry declined the mount (202): copy the bytes, verified while they stream.
    await w.uploadBlob(to, blob.digest, blob.size, await w.getBlob(from, blob.digest, blob.size));
  }

  async internalDigest(repository: string, tag: string): Promise<string | null> {
    return (await this.d.internal.headManifest(repository, tag))?.digest ?? null;
  }

  async unpublish(repository: string, digest: string): Promise<void> {
    // Deleting by digest removes every tag on it in this repository; absent means already done.
    if (!(await this.d.internal.headManifest(repository, digest))) return;
    await this.d.internal.deleteManifest(repository, digest);
  }
}
