/**
 * The internal client's staged blobs on a real registry: a blob read back right after its
 * upload comes from memory, served from a copy verified as it was made (by the source's read of
 * a copy, or by the upload itself), never from buffers someone else holds; nothing is kept of an
 * upload that failed or of a copy no verified read filled, and another repository is answered
 * by the registry.
 */
import { Readable } from 'node:stream';
import { buildImage, pushImage, randomFile, sha256 } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { DistributionClient } from '../../../src/registry/client';
import type { RegistryError } from '../../../src/registry/errors';
import { StagedBlobs } from '../../../src/registry/staged-blobs';
import { isWholeBlob, type WholeBlob } from '../../../src/registry/types';
import { DigestVerifier } from '../../../src/registry/verify';
import { attachSbom } from '../../../src/scanners';
import { rejection } from './helpers';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('staged blobs of the internal client', () => {
  const svc = services();
  const staged = new StagedBlobs();
  const client = new DistributionClient({ url: svc.internal.url, stagedBlobs: staged });
  afterAll(() => client.close());

  it('serves the bytes just uploaded from memory, once, and the registry holds the same bytes', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(200_000);
    const digest = sha256(data);
    await client.uploadBlob(repo, digest, data.length, Readable.from([data]));
    expect(staged.bytes).toBe(data.length);
    expect((await drain(await client.getBlob(repo, digest, data.length))).equals(data)).toBe(true);
    expect(staged.bytes).toBe(0);
    // The next read goes to the registry, which has the blob.
    expect((await drain(await client.getBlob(repo, digest, data.length))).equals(data)).toBe(true);
  });

  it('keeps a copy of the bytes, not the buffers it was given: changing them after the upload changes nothing served', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(100_000);
    const digest = sha256(data);
    const sent = Buffer.from(data);
    await client.uploadBlob(repo, digest, data.length, Readable.from([sent]));
    sent.fill(0);
    const hits = staged.reads.hits;
    expect((await drain(await client.getBlob(repo, digest, data.length))).equals(data)).toBe(true);
    expect(staged.reads.hits).toBe(hits + 1);
  });

  /**
   * Copies a blob from `source` (where it is put first) into a new repository of the internal
   * client as the copy engine does: a copy reserved there, filled by the source's read, handed to
   * the upload; then reads it back. Returns the staged-blob hits the source read and the read
   * back each made.
   */
  async function copyThenRead(source: DistributionClient, size: number): Promise<{ sourceHits: number; readHits: number }> {
    const from = uniqueName('staged-src');
    const repo = uniqueName('staged');
    const data = randomFile(size);
    const digest = sha256(data);
    await source.uploadBlob(from, digest, data.length, Readable.from([data]));
    const copy = client.reserveCopy(repo, digest, data.length)!;
    expect(staged.recordingBytes).toBe(data.length);
    const before = staged.reads.hits;
    const body = await source.getBlob(from, digest, data.length, { copyInto: copy });
    const sourceHits = staged.reads.hits - before;
    await client.uploadBlob(repo, digest, data.length, body, { copy });
    expect(copy.verified).toBe(true);
    expect(staged.recordingBytes).toBe(0);
    expect((await drain(await client.getBlob(repo, digest, data.length))).equals(data)).toBe(true);
    return { sourceHits, readHits: staged.reads.hits - before - sourceHits };
  }

  it('keeps the copy a source read made as it verified the blob (one hash for the copy and the read after it)', async () => {
    const source = new DistributionClient({ url: svc.upstream.url });
    try {
      expect(await copyThenRead(source, 300_000)).toEqual({ sourceHits: 0, readHits: 1 });
    } finally {
      source.close();
    }
  });

  it('a kept blob read as the source of a copy fills that copy, so the copy\'s destination keeps it in turn', async () => {
    // The source is the internal client itself, which kept the blob it was given.
    expect(await copyThenRead(client, 120_000)).toEqual({ sourceHits: 1, readHits: 1 });
  });

  it('serves a manifest it just wrote by digest, asked to keep it, from memory, once; one written under a tag, or not asked, is not kept', async () => {
    // A client of its own: the blobs uploaded here stay kept, unread.
    const own = new DistributionClient({ url: svc.internal.url, stagedBlobs: new StagedBlobs() });
    try {
      const repo = uniqueName('staged');
      const img = await buildImage({ layers: [{ files: { a: 'manifest kept' } }] });
      for (const b of [img.config, ...img.layers]) await own.uploadBlob(repo, b.digest, b.data.length, Readable.from([b.data]));
      // Not asked to keep it: the registry answers, so once deleted it is gone.
      expect(await own.putManifest(repo, img.digest, img.manifest, img.mediaType)).toBe(img.digest);
      await own.deleteManifest(repo, img.digest);
      expect(((await rejection(own.getManifest(repo, img.digest))) as RegistryError).httpStatus).toBe(404);
      expect(await own.putManifest(repo, img.digest, img.manifest, img.mediaType, { keep: true })).toBe(img.digest);
      // Gone from the registry: only a kept copy can answer now, and only once.
      await own.deleteManifest(repo, img.digest);
      const kept = await own.getManifest(repo, img.digest);
      expect(kept.body.equals(img.manifest)).toBe(true);
      expect(kept.parsed).toMatchObject({ kind: 'image', layers: [{ digest: img.layers[0].digest }] });
      expect(((await rejection(own.getManifest(repo, img.digest))) as RegistryError).httpStatus).toBe(404);
      // Under a tag: not kept, so once deleted it is gone.
      await own.putManifest(repo, 'v1', img.manifest, img.mediaType, { keep: true });
      await own.deleteManifest(repo, img.digest);
      expect(((await rejection(own.getManifest(repo, img.digest))) as RegistryError).httpStatus).toBe(404);
    } finally {
      own.close();
    }
  });

  it('keeps nothing when the copy handed to the upload was not filled by a verified read', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(80_000);
    const digest = sha256(data);
    const copy = client.reserveCopy(repo, digest, data.length)!;
    // The body came from somewhere that made no copy: the upload succeeds, nothing is kept.
    await client.uploadBlob(repo, digest, data.length, Readable.from([data]), { copy });
    expect(copy.verified).toBe(false);
    expect(staged.recordingBytes).toBe(0);
    const hits = staged.reads.hits;
    expect((await drain(await client.getBlob(repo, digest, data.length))).equals(data)).toBe(true);
    expect(staged.reads.hits).toBe(hits);
  });

  it('a kept blob of another size than the one asked for is not served', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(60_000);
    const digest = sha256(data);
    await client.uploadBlob(repo, digest, data.length, Readable.from([data]));
    const err = await rejection(client.getBlob(repo, digest, data.length + 1).then(drain));
    expect(err.code).toBe('DIGEST_MISMATCH');
  });

  it('keeps nothing of an upload whose source failed its digest, and answers another repository from the registry', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(100_000);
    const claimed = sha256(Buffer.from('something else'));
    const source = Readable.from([data]).pipe(new DigestVerifier(claimed, data.length));
    const err = await rejection(client.uploadBlob(repo, claimed, data.length, source));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(staged.bytes).toBe(0);
    // Its room, reserved while it ran, is given back.
    expect(staged.recordingBytes).toBe(0);

    const good = randomFile(50_000);
    const digest = sha256(good);
    await client.uploadBlob(repo, digest, good.length, Readable.from([good]));
    const other = await rejection(client.getBlob(uniqueName('staged-other'), digest, good.length).then(drain)) as RegistryError;
    expect(other.hasCode('BLOB_UNKNOWN')).toBe(true);
    expect(staged.bytes).toBe(good.length);
  });

  it('keeps no copy of the blobs or manifests of an SBOM attached as a referrer (nothing reads them back)', async () => {
    const repo = uniqueName('staged-sbom');
    const img = await buildImage({ layers: [{ files: { a: 'a' } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    const before = staged.bytes;
    const manifests = staged.manifestCount;
    await attachSbom(client, repo, img.digest, Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', components: [] })), new Date().toISOString());
    expect(staged.bytes).toBe(before);
    expect(staged.recordingBytes).toBe(0);
    expect(staged.manifestCount).toBe(manifests);
  });

  it('gives a kept blob away whole (its verified buffer) to a reader that moves it, only before anything was read', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(2_500_000);
    const digest = sha256(data);
    await client.uploadBlob(repo, digest, data.length, Readable.from([data]));
    const stream = await client.getBlob(repo, digest, data.length);
    expect(isWholeBlob(stream)).toBe(true);
    const whole = (stream as Readable & WholeBlob).takeWhole()!;
    expect(whole.equals(data)).toBe(true);
    // It owns its ArrayBuffer (transferable without detaching anything else), and is given once.
    expect(whole.byteOffset === 0 && whole.buffer.byteLength === data.length).toBe(true);
    expect((stream as Readable & WholeBlob).takeWhole()).toBeNull();

    await client.uploadBlob(repo, digest, data.length, Readable.from([data]));
    const read = await client.getBlob(repo, digest, data.length) as Readable & WholeBlob;
    const first = await new Promise<Buffer>((resolve) => read.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    expect(read.takeWhole()).toBeNull();
    read.destroy();
    // A read from the registry (nothing kept) is a verifying stream, not a whole blob.
    const fromRegistry = await client.getBlob(repo, digest, data.length);
    expect(isWholeBlob(fromRegistry)).toBe(false);
    fromRegistry.destroy();
  });
});
