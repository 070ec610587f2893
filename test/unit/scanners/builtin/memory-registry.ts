/**
 * An in-memory RegistryClient for unit tests of the scanner: serves images built with the
 * harness' buildImage/buildIndex. Blobs are streamed in small chunks so the scanner's
 * streaming code paths (gzip sniffing across chunk boundaries, backpressure) are exercised.
 */
import { Readable } from 'node:stream';
import type { BuiltImage, BuiltIndex } from '../../../harness/images';
import type { ManifestResponse, RegistryClient } from '../../../../src/registry/types';

const CHUNK = 16 * 1024;

export class MemoryRegistry implements RegistryClient {
  readonly url = 'http://memory.invalid';
  private readonly manifests = new Map<string, { body: Buffer; mediaType: string }>();
  private readonly blobs = new Map<string, Buffer>();
  readonly blobReads: string[] = [];
  readonly manifestReads: string[] = [];

  addImage(img: BuiltImage): this {
    this.manifests.set(img.digest, { body: img.manifest, mediaType: img.mediaType });
    for (const b of [img.config, ...img.layers]) this.blobs.set(b.digest, b.data);
    return this;
  }

  addIndex(idx: BuiltIndex): this {
    for (const img of idx.images) this.addImage(img);
    this.manifests.set(idx.digest, { body: idx.manifest, mediaType: idx.mediaType });
    return this;
  }

  async ping(): Promise<void> {}
  async headManifest(_repo: string, ref: string) {
    const m = this.manifests.get(ref);
    return m ? { digest: ref, mediaType: m.mediaType, size: m.body.length } : null;
  }
  async getManifest(_repo: string, ref: string): Promise<ManifestResponse> {
    const m = this.manifests.get(ref);
    if (!m) throw new Error(`manifest ${ref} unknown`);
    this.manifestReads.push(ref);
    return { digest: ref, mediaType: m.mediaType, size: m.body.length, body: m.body };
  }
  async putManifest(): Promise<string> {
    throw new Error('read-only');
  }
  async deleteManifest(): Promise<void> {
    throw new Error('read-only');
  }
  async headBlob(_repo: string, digest: string) {
    const b = this.blobs.get(digest);
    return b ? { digest, size: b.length } : null;
  }
  async getBlob(_repo: string, digest: string): Promise<Readable> {
    const b = this.blobs.get(digest);
    if (!b) throw new Error(`blob ${digest} unknown`);
    this.blobReads.push(digest);
    return Readable.from(
      (function* chunks() {
        for (let i = 0; i < b.length; i += CHUNK) yield b.subarray(i, i + CHUNK);
      })(),
    );
  }
  async listTags(): Promise<string[]> {
    return [];
  }
}
