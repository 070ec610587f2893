/**
 * What the remote scanners (Clair, Harbor) are asked to scan for one target digest. Both take
 * one image manifest (not an index) per request; the index is resolved to its runnable
 * children by ../image-children.ts, shared with the builtin scanner so that every adapter
 * scans the same platform images (all of them, attestations skipped).
 */
import type { Finding } from '../types';

export { imagesToScan, type ImageToScan } from '../image-children';

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
