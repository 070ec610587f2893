/**
 * What a child of an image index is, judged by its bytes and never by a label (issue 8.1:
 * "what is promoted is exactly what was scanned or judged"). Shared by the copy engine, which
 * stages only children it can vouch for, and by every scanner adapter, which scans them: the
 * two must agree, or an index could be staged with a child no scanner looks at.
 *
 * - `image`: an image manifest whose layers are all filesystem layers (OCI or Docker types).
 *   A runtime could select and run it, whatever its descriptor says (platform, media type,
 *   annotations), so it is scanned.
 * - `attestation`: provably inert. Every descriptor that lists it says `unknown/unknown` (no
 *   runtime selects that platform), and its manifest has at least one layer, each of an
 *   attestation media type (in-toto statements or DSSE envelopes), so no runtime can unpack a
 *   root filesystem from it. This is BuildKit's attestation manifest (docs.docker.com, "Image
 *   attestation storage": platform `unknown/unknown`, layers `application/vnd.in-toto+json`;
 *   its config "should be ignored"). The `vnd.docker.reference.type` annotation proves
 *   nothing: anyone can write it on a runnable child.
 * - `unscannable`: anything else: bytes that are no manifest we know, a nested index, an image
 *   with layers of other media types (an OCI artifact) that is not inert as above.
 */
import { AppError } from '../lib/errors';
import { formatPlatform } from './platform';
import type { ParsedManifest } from './manifest';
import { MediaTypes, type Descriptor, type Platform } from './types';

/** Layer media types a runtime unpacks into a root filesystem (image-spec layer.md, Docker schema 2). */
export const FILESYSTEM_LAYER_TYPES: ReadonlySet<string> = new Set([
  MediaTypes.ociLayer,
  MediaTypes.ociLayerGzip,
  MediaTypes.ociLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  MediaTypes.dockerLayerGzip,
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

/** Layer media types of attestations: in-toto statements (BuildKit) and DSSE envelopes of them (cosign). */
export const ATTESTATION_LAYER_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.in-toto+json',
  'application/vnd.dsse.envelope.v1+json',
]);

/**
 * Distinct children of one index that staging and the scanners read and judge. Real
 * multi-platform indexes list a few dozen (platforms and their attestations); a 4 MiB index
 * could list ~30,000, each a manifest read and a scan.
 */
export const MAX_DISTINCT_CHILDREN = 1024;

export type ChildJudgement =
  | { kind: 'image' }
  | { kind: 'attestation' }
  | { kind: 'unscannable'; reason: string };

/** One distinct child: its digest and every platform the index lists it under. */
export interface ChildListing {
  digest: string;
  /** One entry per descriptor with this digest (undefined: the descriptor has no platform). */
  platforms: Array<Platform | undefined>;
}

/**
 * Groups an index's descriptors by digest, in index order: identical children are judged (and
 * scanned) once. More than {@link MAX_DISTINCT_CHILDREN} fail with SCAN_LIMIT_EXCEEDED.
 */
export function distinctChildren(manifests: readonly Descriptor[], index: string): ChildListing[] {
  const byDigest = new Map<string, ChildListing>();
  for (const d of manifests) {
    const seen = byDigest.get(d.digest);
    if (seen) seen.platforms.push(d.platform);
    else byDigest.set(d.digest, { digest: d.digest, platforms: [d.platform] });
  }
  if (byDigest.size > MAX_DISTINCT_CHILDREN) {
    throw new AppError('SCAN_LIMIT_EXCEEDED', `index ${index} lists ${byDigest.size} distinct children, more than ${MAX_DISTINCT_CHILDREN}`);
  }
  return [...byDigest.values()];
}

const unknownPlatform = (p: Platform | undefined): boolean => p?.os === 'unknown' && p.architecture === 'unknown';

/**
 * Judges one child from its parsed manifest, or from the error that parsing its bytes gave.
 * `listing.platforms` must hold every descriptor's platform: a child listed once as
 * `unknown/unknown` and once as `linux/amd64` can be selected, so it is not inert.
 */
export function judgeChild(listing: ChildListing, content: ParsedManifest | { error: string }): ChildJudgement {
  if ('error' in content) return { kind: 'unscannable', reason: `its bytes are not an image manifest (${content.error})` };
  if (content.kind === 'index') return { kind: 'unscannable', reason: 'it is itself an image index' };
  const foreign = content.layers.filter((l) => !FILESYSTEM_LAYER_TYPES.has(l.mediaType));
  if (foreign.length === 0) return { kind: 'image' };
  const inert = listing.platforms.every(unknownPlatform) && content.layers.every((l) => ATTESTATION_LAYER_TYPES.has(l.mediaType));
  if (inert) return { kind: 'attestation' };
  const platforms = [...new Set(listing.platforms.map(formatPlatform))].join(', ');
  return {
    kind: 'unscannable',
    reason: `platform ${platforms}, layer media type ${foreign[0]!.mediaType} is not a filesystem layer, and it is not an attestation (unknown/unknown with in-toto layers only)`,
  };
}

/** The message of an UNSCANNABLE_CHILD error: which child, listed how, and why. */
export function unscannableMessage(index: string, digest: string, reason: string): string {
  return `index ${index}: child ${digest} can be neither scanned nor proven inert: ${reason}`;
}
