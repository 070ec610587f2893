/**
 * Which image manifests a remote scanner is asked to scan for one target digest. Clair and
 * Harbor's scanners both take one image manifest (not an index) per request, so an index is
 * resolved to its children here (shared by both adapters).
 *
 * Decision: every platform image of an index is scanned, not only linux/amd64. The approval
 * binds the index digest and a cluster on any architecture pulls its own child, so a
 * vulnerability in any child must be seen (fail closed). Children that are not runnable
 * images are skipped: attestation manifests (BuildKit marks them `unknown/unknown` and with
 * the `vnd.docker.reference.type` annotation) and nested indexes.
 */
import { AppError } from '../../lib/errors';
import { MediaTypes, parseManifest, type Descriptor, type Platform } from '../../registry';
import type { Finding, ScanTarget } from '../types';

export interface ImageToScan {
  digest: string;
  mediaType: string;
  layers: Descriptor[];
  /** Set when the image came from an index. */
  platform?: Platform;
}

const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);

function isRunnableChild(d: Descriptor): boolean {
  if (!IMAGE_MEDIA_TYPES.has(d.mediaType)) return false;
  if (d.annotations?.['vnd.docker.reference.type'] !== undefined) return false;
  return d.platform?.os !== 'unknown';
}

async function readImage(target: ScanTarget, digest: string, platform?: Platform): Promise<ImageToScan> {
  const m = await target.registry.getManifest(target.repository, digest);
  const parsed = parseManifest(m.body, m.mediaType, `manifest ${digest}`);
  if (parsed.kind !== 'image') {
    throw new AppError('SCAN_FAILED', `${target.repository}@${digest}: nested indexes are not scanned`);
  }
  return { digest: m.digest, mediaType: parsed.mediaType, layers: parsed.layers, ...(platform ? { platform } : {}) };
}

/** The image manifests to scan for `target.digest`: itself, or the runnable children of an index. */
export async function imagesToScan(target: ScanTarget): Promise<ImageToScan[]> {
  const top = await target.registry.getManifest(target.repository, target.digest);
  const parsed = parseManifest(top.body, top.mediaType, `manifest ${target.digest}`);
  if (parsed.kind === 'image') return [{ digest: top.digest, mediaType: parsed.mediaType, layers: parsed.layers }];
  const children = parsed.manifests.filter(isRunnableChild);
  if (children.length === 0) {
    throw new AppError('SCAN_FAILED', `${target.repository}@${target.digest}: the index lists no runnable image to scan`);
  }
  const images: ImageToScan[] = [];
  for (const child of children) images.push(await readImage(target, child.digest, child.platform));
  return images;
}

/** Blob URL in the Distribution API (what a scanner fetches a layer from). */
export function blobUrl(registryUrl: string, repository: string, digest: string): string {
  return `${registryUrl.replace(/\/+$/, '')}/v2/${repository}/blobs/${digest}`;
}

/**
 * Merges the findings of several images of one index: the same advisory in the same package
 * version is one finding (the first image's layer and path are kept).
 */
export function mergeFindings(lists: readonly Finding[][]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const list of lists) {
    for (const f of list) {
      const key = [f.id, f.package ?? '', f.installedVersion ?? '', f.fixedVersion ?? '', f.path ?? ''].join('\u0000');
      if (!seen.has(key)) seen.set(key, f);
    }
  }
  return [...seen.values()];
}
