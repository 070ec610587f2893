import { Readable } from 'node:stream';
import { buildImage, buildIndex, pushImage, pushIndex, randomFile, sha256 } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { DistributionClient } from '../../../src/registry/client';
import { RegistryError } from '../../../src/registry/errors';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function failure(p: Promise<unknown>): Promise<RegistryError | Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('DistributionClient against docker-registry', () => {
  const svc = services();
  const client = new DistributionClient({ url: svc.internal.url });
  afterAll(() => client.close());

  test('reads manifests, blobs and tags exactly as pushed', async () => {
    const repo = uniqueName('client');
    const img = await buildImage({ layers: [{ files: { 'a.txt': 'hello' } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    await client.ping();
    expect(await client.headManifest(repo, 'v1')).toEqual({ digest: img.digest, mediaType: img.mediaType, size: img.manifest.length });
    expect(await client.headManifest(repo, 'nope')).toBeNull();
    const m = await client.getManifest(repo, 'v1');
    expect(m.body.equals(img.manifest)).toBe(true);
    expect(m.digest).toBe(img.digest);
    expect((await client.getManifest(repo, img.digest)).mediaType).toBe(img.mediaType);
    const layer = img.layers[0];
    expect((await drain(await client.getBlob(repo, layer.digest, layer.size))).equals(layer.data)).toBe(true);
    expect(await client.headBlob(repo, layer.digest)).toEqual({ digest: layer.digest, size: layer.size });
    expect(await client.headBlob(repo, sha256('absent'))).toBeNull();
    expect(await client.listTags(repo)).toEqual(['v1']);
  });

  test('getBlob fails with DIGEST_MISMATCH when the expected size is wrong', async () => {
    const repo = uniqueName('client');
    const img = await buildImage({ layers: [{ files: { 'b.txt': 'bytes' } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    const err = await failure(client.getBlob(repo, img.layers[0].digest, img.layers[0].size + 1));
    expect((err as RegistryError).code).toBe('DIGEST_MISMATCH');
  });

  test('uploads monolithically and in chunks, mounts across repositories, and a wrong digest is refused', async () => {
    const repo = uniqueName('up');
    const data = randomFile(300_000);
    const digest = sha256(data);
    await client.uploadBlob(repo, digest, data.length, Readable.from([data]));
    expect(await client.headBlob(repo, digest)).toEqual({ digest, size: data.length });

    const chunked = new DistributionClient({ url: svc.internal.url, chunkSize: 64 * 1024 });
    const repo2 = uniqueName('chunked');
    const data2 = randomFile(200_001);
    await chunked.uploadBlob(repo2, sha256(data2), data2.length, Readable.from([data2.subarray(0, 1000), data2.subarray(1000)]));
    expect((await drain(await client.getBlob(repo2, sha256(data2), data2.length))).equals(data2)).toBe(true);
    chunked.close();

    const repo3 = uniqueName('mount');
    expect(await client.mountBlob(repo3, digest, repo)).toBe(true);
    expect(await client.headBlob(repo3, digest)).not.toBeNull();
    expect(await client.mountBlob(repo3, sha256('not there'), repo)).toBe(false);

    const err = await failure(client.uploadBlob(repo, sha256('other'), data.length, Readable.from([data])));
    expect((err as RegistryError).code).toBe('DIGEST_MISMATCH');
  });

  test('puts manifests byte for byte and reads an index', async () => {
    const repo = uniqueName('idx');
    const a = await buildImage({ layers: [{ files: { x: '1' } }], architecture: 'amd64' });
    const b = await buildImage({ layers: [{ files: { x: '2' } }], architecture: 'arm64' });
    const idx = buildIndex([a, b]);
    await pushIndex(svc.internal.url, repo, 'multi', idx);
    const got = await client.getManifest(repo, 'multi');
    expect(got.digest).toBe(idx.digest);
    expect(got.mediaType).toBe(idx.mediaType);
    const digest = await client.putManifest(repo, 'copy', got.body, got.mediaType);
    expect(digest).toBe(idx.digest);
    await client.deleteManifest(repo, a.digest);
    expect(await client.headManifest(repo, a.digest)).toBeNull();
  });
});
