/**
 * What reading one image's manifests may cost in total. Each manifest is capped
 * (MAX_MANIFEST_SIZE, MAX_LAYERS_PER_MANIFEST) and an index's distinct children are counted
 * (MAX_DISTINCT_CHILDREN), but 1024 children of 4 MiB each are 4 GiB of JSON whose parsed layer
 * lists are all kept until the image is planned or scanned: ~5.6 GiB of heap, which kills the
 * process. Staging (copy-plan.ts) and the scanners (scanners/image-children.ts) charge every
 * manifest they read for one image here, so that both refuse the same images.
 */
import { AppError } from '../lib/errors';
import type { ParsedManifest } from './types';

/**
 * Manifest bytes read for one image, the root and all its children together. A real
 * multi-platform index and its children are well under 1 MiB; 64 MiB is 16 manifests at the
 * per-manifest cap.
 */
export const MAX_IMAGE_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * Layer descriptors of all image manifests of one image. Real images have tens of layers per
 * platform; 100,000 is 100 children at the per-manifest cap of 1,000.
 */
export const MAX_IMAGE_LAYER_DESCRIPTORS = 100_000;

export interface ManifestBudgetLimits {
  /** @defaultValue {@link MAX_IMAGE_MANIFEST_BYTES} */
  maxBytes: number;
  /** @defaultValue {@link MAX_IMAGE_LAYER_DESCRIPTORS} */
  maxLayers: number;
}

/** The running total of one image's manifests; over a bound, MANIFEST_TOO_LARGE. */
export class ManifestBudget {
  private bytes = 0;
  private layers = 0;
  private readonly limits: ManifestBudgetLimits;

  /** @param image names the image in the error, e.g. `repo@sha256:…` */
  constructor(private readonly image: string, limits: Partial<ManifestBudgetLimits> = {}) {
    this.limits = { maxBytes: MAX_IMAGE_MANIFEST_BYTES, maxLayers: MAX_IMAGE_LAYER_DESCRIPTORS, ...limits };
  }

  /**
   * Charges one manifest as it is read (call it once per fetch, not per use of a cached read).
   * @throws AppError MANIFEST_TOO_LARGE (not temporary) once the image's manifests exceed a bound
   */
  readBytes(digest: string, size: number): void {
    this.bytes += size;
    if (this.bytes > this.limits.maxBytes) {
      throw new AppError('MANIFEST_TOO_LARGE', `${this.image}: its manifests exceed ${this.limits.maxBytes} bytes in total (at ${digest})`, { details: { manifest: digest } });
    }
  }

  /**
   * Charges the layer descriptors of one image manifest (once per distinct manifest).
   * @throws AppError MANIFEST_TOO_LARGE once the image's manifests list more than the bound
   */
  keptLayers(digest: string, parsed: ParsedManifest): void {
    if (parsed.kind !== 'image') return;
    this.layers += parsed.layers.length;
    if (this.layers > this.limits.maxLayers) {
      throw new AppError('MANIFEST_TOO_LARGE', `${this.image}: its manifests list more than ${this.limits.maxLayers} layers in total (at ${digest})`, { details: { manifest: digest } });
    }
  }
}
