/**
 * Which image manifests are scanned for one target digest: the target itself, or the children
 * of an index. Shared by all adapters (builtin, Clair, Harbor) so that they agree on what "the
 * image" is, and judged by the same rule as staging (src/registry/children.ts): what is
 * promoted is exactly what was scanned or judged.
 *
 * Every child is read and judged by its content, never by its descriptor: a runnable image is
 * scanned whatever platform, media type or annotation the index gives it; a provably inert
 * attestation is skipped; anything else fails the scan with `UNSCANNABLE_CHILD` (staging
 * normally refused or dropped it already; this is the same rule applied to what quarantine
 * holds). A child the index lists many times is read and scanned once, and the number of
 * distinct children is bounded, so an index cannot multiply the cost of a scan. Every manifest
 * read is charged to the same {@link ManifestBudget} as staging's, so that an index of many large
 * children fails with MANIFEST_TOO_LARGE before their layer lists fill the heap.
 */
import { AppError, toAppError } from '../lib/errors';
import { formatPlatform, parsedManifest, type Descriptor, type ManifestResponse, type ParsedManifest, type Platform } from '../registry';
import { distinctChildren, judgeChild, ManifestBudget, unscannableMessage } from '../registry';
import type { ScanTarget } from './types';

export interface ImageToScan {
  digest: string;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  /** Set when the image came from an index: every platform the index lists it under (usually one). */
  platforms?: Platform[];
}

function parsedOrError(m: ManifestResponse, digest: string): ParsedManifest | { error: string } {
  try {
    return parsedManifest(m, `manifest ${digest}`);
  } catch (err) {
    return { error: toAppError(err).message };
  }
}

/** The image manifests to scan for `target.digest`: itself, or the runnable children of an index. */
export async function imagesToScan(target: ScanTarget): Promise<ImageToScan[]> {
  const budget = new ManifestBudget(`${target.repository}@${target.digest}`);
  const top = await target.registry.getManifest(target.repository, target.digest);
  budget.readBytes(top.digest, top.body.length);
  const parsed = parsedManifest(top, `manifest ${target.digest}`);
  budget.keptLayers(top.digest, parsed);
  if (parsed.kind === 'image') return [{ digest: top.digest, mediaType: parsed.mediaType, config: parsed.config, layers: parsed.layers }];
  const children = distinctChildren(parsed.manifests, `${target.repository}@${target.digest}`);
  const images: ImageToScan[] = [];
  // One at a time: each read is capped, and an index of many children must not open them all at once.
  for (const child of children) {
    const m = await target.registry.getManifest(target.repository, child.digest);
    budget.readBytes(m.digest, m.body.length);
    const content = parsedOrError(m, child.digest);
    if (!('error' in content)) budget.keptLayers(m.digest, content);
    const judged = judgeChild(child, content);
    if (judged.kind === 'unscannable') {
      throw new AppError('UNSCANNABLE_CHILD', unscannableMessage(`${target.repository}@${target.digest}`, child.digest, judged.reason), { details: { child: child.digest } });
    }
    if (judged.kind === 'attestation' || 'error' in content || content.kind !== 'image') continue;
    // 20,000 listings of one child are one platform list, not 20,000 entries.
    const unique = new Map(child.platforms.filter((p): p is Platform => p !== undefined).map((p) => [formatPlatform(p), p]));
    const platforms = [...unique.values()];
    images.push({ digest: m.digest, mediaType: content.mediaType, config: content.config, layers: content.layers, ...(platforms.length ? { platforms } : {}) });
  }
  if (images.length === 0) {
    throw new AppError('SCAN_FAILED', `${target.repository}@${target.digest}: the index lists no runnable image to scan`);
  }
  return images;
}
