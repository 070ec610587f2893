/**
 * The internal client's staged blobs on a real registry: a blob read back right after its
 * upload comes from memory, checked against its digest before it is served (bytes that do not
 * match are never served: the registry answers instead); nothing is kept of an upload that
 * failed, and another repository is answered by the registry.
 */
import { Readable } from 'node:stream';
import { randomFile, sha256 } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { DistributionClient } from '../../../src/registry/client';
import type { RegistryError } from '../../../src/registry/errors';
import { StagedBlobs } from '../../../src/registry/staged-blobs';
import { DigestVerifier } from '../../../src/registry/verify';
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

  it('never serves kept bytes that no longer hash to the digest: the registry answers instead', async () => {
    const repo = uniqueName('staged');
    const data = randomFile(100_000);
    const digest = sha256(data);
    await client.uploadBlob(repo, digest, data.length, Readable.from([data]));
    // Bytes changed in memory after the upload: they are dropped, and the registry's (verified) served.
    const kept = staged.take(repo, digest)!;
    const rec = staged.recorder(repo, digest, data.length)!;
    rec.chunks.push(...kept.chunks.map((c) => Buffer.from(c)));
    rec.chunks[0][0] ^= 0xff;
    rec.bytes = data.length;
    staged.keep(rec);
    expect(staged.bytes).toBe(data.length);
    expect((await drain(await client.getBlob(repo, digest, data.length))).equals(data)).toBe(true);
    expect(staged.bytes).toBe(0);
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
});
