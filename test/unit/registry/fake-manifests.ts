/** Manifests built in memory and a registry that serves only them: for tests of what reading an image may cost. */
import { createHash } from 'node:crypto';
import type { ManifestResponse, RegistryClient } from '../../../src/registry/types';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const GZIP_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An image manifest of `layers` layer descriptors, padded to about `padTo` bytes with an annotation. */
export function imageManifest(seed: string, layers: number, padTo = 0): Buffer {
  const layer = { mediaType: GZIP_LAYER, digest: sha256(`layer ${seed}`), size: 32 };
  const body = (pad: string) => JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(`config ${seed}`), size: 2 },
    layers: Array(layers).fill(layer),
    ...(pad ? { annotations: { pad } } : {}),
  });
  const bare = body('').length;
  return Buffer.from(body(padTo > bare + 40 ? 'x'.repeat(padTo - bare - 40) : ''));
}

export interface FakeRegistry {
  client: RegistryClient;
  index: string;
  /** Manifest reads served, by reference. */
  reads: string[];
}

/** A registry holding one index of `children` (each listed once, linux/<i>) and the children. */
export function indexOf(children: Buffer[]): FakeRegistry {
  const byDigest = new Map(children.map((b) => [sha256(b), b]));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_INDEX,
    manifests: [...byDigest].map(([digest, b], i) => ({ mediaType: OCI_MANIFEST, digest, size: b.length, platform: { os: 'linux', architecture: `a${i}` } })),
  }));
  const indexDigest = sha256(index);
  byDigest.set(indexDigest, index);
  const reads: string[] = [];
  const client = {
    url: 'http://fake.invalid',
    async getManifest(_repository: string, reference: string): Promise<ManifestResponse> {
      reads.push(reference);
      const body = byDigest.get(reference);
      if (!body) throw new Error(`no manifest ${reference}`);
      return { digest: reference, mediaType: reference === indexDigest ? OCI_INDEX : OCI_MANIFEST, size: body.length, body };
    },
  } as unknown as RegistryClient;
  return { client, index: indexDigest, reads };
}
