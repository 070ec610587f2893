/**
 * Which image manifests are scanned for one target digest: the target itself, or every
 * runnable child of an index. Shared by all adapters (builtin, Clair, Harbor) so that they
 * agree on what "the image" is.
 *
 * Decision: every platform image of an index is scanned, not only linux/amd64. The approval
 * binds the index digest and a cluster on any architecture pulls its own child, so a
 * vulnerability in any child must be seen (fail closed). Children that are not runnable
 * images are skipped: attestation manifests (BuildKit marks them `unknown/unknown` and with
 * the `vnd.docker.reference.type` annotation) and descriptors of other media types
 * (artifacts). A child that is itself an index is refused with `SCAN_FAILED`, not skipped:
 * the copy engine promotes nested indexes (src/registry/copy-plan.ts), so skipping one here
 * would approve its images unscanned.
 */
import { AppError } from '../lib/errors';
import { formatPlatform, parseManifest, type Descriptor, type Platform } from '../registry';
import { IMAGE_TYPES, INDEX_TYPES } from '../registry/manifest';
import type { ScanTarget } from './types';

export interface ImageToScan {
  digest: string;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  /** Set when the image came from an index. */
  platform?: Platform;
}

/** BuildKit's annotation on attestation manifests (value `attestation-manifest`). */
const REFERENCE_TYPE = 'vnd.docker.reference.type';

function isAttestation(d: Descriptor): boolean {
  // `unknown/unknown` is what BuildKit writes; no runtime pulls an image for os `unknown`.
  return d.annotations?.[REFERENCE_TYPE] !== undefined || d.platform?.os === 'unknown';
}

/** Whether an index entry is a platform image a runtime could pull and run. */
export function isRunnableChild(d: Descriptor): boolean {
  return IMAGE_TYPES.has(d.mediaType) && !isAttestation(d);
}

function nestedIndex(target: ScanTarget, digest: string, platform?: Platform): AppError {
  const where = platform ? ` (${formatPlatform(platform)})` : '';
  return new AppError(
    'SCAN_FAILED',
    `${target.repository}@${target.digest}: child ${digest}${where} is itself an image index; indexes nested more than one level deep are not scanned`,
  );
}

async function readChild(target: ScanTarget, child: Descriptor): Promise<ImageToScan> {
  const m = await target.registry.getManifest(target.repository, child.digest);
  const parsed = parseManifest(m.body, m.mediaType, `manifest ${child.digest}`);
  // The descriptor said "image" but the bytes are an index: judged by the bytes.
  if (parsed.kind !== 'image') throw nestedIndex(target, child.digest, child.platform);
  const platform = child.platform ? { platform: child.platform } : {};
  return { digest: m.digest, mediaType: parsed.mediaType, config: parsed.config, layers: parsed.layers, ...platform };
}

/** The image manifests to scan for `target.digest`: itself, or the runnable children of an index. */
export async function imagesToScan(target: ScanTarget): Promise<ImageToScan[]> {
  const top = await target.registry.getManifest(target.repository, target.digest);
  const parsed = parseManifest(top.body, top.mediaType, `manifest ${target.digest}`);
  if (parsed.kind === 'image') return [{ digest: top.digest, mediaType: parsed.mediaType, config: parsed.config, layers: parsed.layers }];
  const nested = parsed.manifests.find((d) => INDEX_TYPES.has(d.mediaType));
  if (nested) throw nestedIndex(target, nested.digest, nested.platform);
  const children = parsed.manifests.filter(isRunnableChild);
  if (children.length === 0) {
    throw new AppError('SCAN_FAILED', `${target.repository}@${target.digest}: the index lists no runnable image to scan`);
  }
  const images: ImageToScan[] = [];
  // One at a time: each read is capped, and an index of many children must not open them all at once.
  for (const child of children) images.push(await readChild(target, child));
  return images;
}
