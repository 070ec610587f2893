import { buildImage, buildIndex, pushImage, pushIndex, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import type { CopyProgress } from '../../../src/registry/mover';
import { parseReference } from '../../../src/registry/reference';
import { copyOutOfStaging } from '../../../src/registry/movers/engine-staging';
import { RegistryMover } from '../../../src/registry/registry-mover';
import { UpstreamResolver } from '../../../src/registry/resolver';
import { DistributionClient } from '../../../src/registry/client';
import { StagedBlobs } from '../../../src/registry/staged-blobs';
import { accessLog, rejection, skopeoDigest, skopeoInspect, testConfig } from './helpers';

const svc = services();
const UPSTREAM = 'upstream.test';
const resolver = new UpstreamResolver(testConfig(svc.internal.url, [{ registry: UPSTREAM, endpoint: svc.proxy.url }]));
const mover = new RegistryMover(resolver, { jobs: 3, retries: 2 });
afterAll(() => resolver.close());

/** Copies `repo:tag` from the upstream (through nginx) into a fresh internal repository. */
async function copyFromUpstream(repo: string, tag: string, opts: Parameters<RegistryMover['copy']>[2] = {}) {
  const dstRepo = uniqueName('dst');
  const events: CopyProgress[] = [];
  const result = await mover.copy(parseReference(`${UPSTREAM}/${repo}:${tag}`), parseReference(`${svc.internal.host}/${dstRepo}:${tag}`), {
    ...opts, onProgress: (e) => events.push(e),
  });
  return { result, dstRepo, events };
}

function layerOf(n: number, format: 'oci' | 'docker' = 'oci'): Promise<BuiltImage> {
  return buildImage({ format, layers: [{ files: { [`f${n}`]: `content ${n} ${Math.random()}` } }, { files: { base: 'shared base' } }] });
}

describe('copy engine: round trips through the reverse proxy, digests preserved', () => {
  test.each(['oci', 'docker'] as const)('a single %s image', async (format) => {
    const repo = uniqueName(`single-${format}`);
    const img = await layerOf(1, format);
    await pushImage(svc.upstream.url, repo, 'v1', img);
    const { result, dstRepo, events } = await copyFromUpstream(repo, 'v1');
    expect(result).toMatchObject({ digest: img.digest, sourceDigest: img.digest, mediaType: img.mediaType, size: img.manifest.length, mapping: {} });
    expect(await skopeoDigest(svc.internal.host, `${dstRepo}:v1`)).toBe(img.digest);
    const inspected = await skopeoInspect(svc.internal.host, `${dstRepo}:v1`);
    expect(inspected.Digest).toBe(img.digest);
    expect(inspected.Layers).toEqual(img.layers.map((l) => l.digest));
    const last = events[events.length - 1];
    expect(last).toMatchObject({ phase: 'done', blobsDone: 3, blobsTotal: 3, bytesDone: last.bytesTotal });
    // Every blob was read through nginx; the upstream's own address is in no configuration.
    const log = accessLog(svc.proxy.accessLog);
    for (const b of [img.config, ...img.layers]) expect(log).toContain(`GET /v2/${repo}/blobs/${b.digest} 200 ${b.size}`);
    expect(JSON.stringify(testConfig(svc.internal.url, [{ registry: UPSTREAM, endpoint: svc.proxy.url }]))).not.toContain(svc.upstream.host);
  });

  test.each(['oci', 'docker'] as const)('a %s index of three platforms, children before the index', async (format) => {
    const repo = uniqueName(`index-${format}`);
    const images = await Promise.all(['amd64', 'arm64', 'ppc64le'].map((architecture, i) =>
      buildImage({ format, architecture, layers: [{ files: { arch: architecture, n: String(i) } }, { files: { base: 'shared' } }] })));
    const idx = buildIndex(images, format);
    await pushIndex(svc.upstream.url, repo, 'multi', idx);
    const { result, dstRepo, events } = await copyFromUpstream(repo, 'multi');
    expect(result.digest).toBe(idx.digest);
    expect(result.mediaType).toBe(idx.mediaType);
    expect(result.platforms.map((p) => [p.platform?.architecture, p.digest])).toEqual(images.map((i) => [i.platform.architecture, i.digest]));
    expect(await skopeoDigest(svc.internal.host, `${dstRepo}:multi`)).toBe(idx.digest);
    for (const img of images) expect(await skopeoDigest(svc.internal.host, `${dstRepo}@${img.digest}`)).toBe(img.digest);
    // The shared layer is copied once: 3 configs + 3 own layers + 1 shared.
    expect(events[events.length - 1]).toMatchObject({ blobsTotal: 7, blobsDone: 7 });
    const tagAt = events.findIndex((e) => e.phase === 'tag');
    expect(events.slice(tagAt).filter((e) => e.phase === 'blob-done')).toHaveLength(0);
  });

  test('an image with an empty layer', async () => {
    const repo = uniqueName('empty');
    const img = await buildImage({ layers: [{ files: {} }, { files: { a: 'a' } }], history: [{ created_by: 'noop', empty_layer: false }, { created_by: 'a' }] });
    await pushImage(svc.upstream.url, repo, 'v1', img);
    const { result, dstRepo } = await copyFromUpstream(repo, 'v1');
    expect(result.digest).toBe(img.digest);
    expect(await skopeoDigest(svc.internal.host, `${dstRepo}:v1`)).toBe(img.digest);
  });

  test('images sharing layers: blobs already at the destination are skipped, and a same-registry copy mounts', async () => {
    const repo = uniqueName('shared');
    const a = await layerOf(10);
    const b = await layerOf(11);
    await pushImage(svc.upstream.url, repo, 'a', a);
    await pushImage(svc.upstream.url, repo, 'b', b);
    const dstRepo = uniqueName('shared-dst');
    const dst = (tag: string) => parseReference(`${svc.internal.host}/${dstRepo}:${tag}`);
    await mover.copy(parseReference(`${UPSTREAM}/${repo}:a`), dst('a'));
    const events: CopyProgress[] = [];
    const rb = await mover.copy(parseReference(`${UPSTREAM}/${repo}:b`), dst('b'), { onProgress: (e) => events.push(e) });
    expect(rb.digest).toBe(b.digest);
    expect(events[events.length - 1]).toMatchObject({ blobsTotal: 3, blobsSkipped: 1 });
    // Internal → internal: every blob is mounted, none is streamed.
    const promoted = uniqueName('promoted');
    const mounted: CopyProgress[] = [];
    const rp = await mover.copy(dst('b'), parseReference(`${svc.internal.host}/${promoted}:b`), { onProgress: (e) => mounted.push(e) });
    expect(rp.digest).toBe(b.digest);
    expect(mounted[mounted.length - 1]).toMatchObject({ blobsTotal: 3, blobsSkipped: 3 });
    expect(mounted.filter((e) => e.phase === 'blob')).toHaveLength(0);
    expect(await skopeoDigest(svc.internal.host, `${promoted}:b`)).toBe(b.digest);
  });

  test('selecting platforms: one image, or a new index with the mapping recorded', async () => {
    const repo = uniqueName('select');
    const images = await Promise.all(['amd64', 'arm64', 's390x'].map((architecture) => buildImage({ architecture, layers: [{ files: { a: architecture } }] })));
    const idx = buildIndex(images);
    await pushIndex(svc.upstream.url, repo, 'multi', idx);
    const one = await copyFromUpstream(repo, 'multi', { platforms: ['linux/arm64'] });
    expect(one.result.digest).toBe(images[1].digest);
    expect(one.result.mapping).toEqual({ [idx.digest]: images[1].digest });
    expect(await skopeoDigest(svc.internal.host, `${one.dstRepo}:multi`)).toBe(images[1].digest);

    const two = await copyFromUpstream(repo, 'multi', { platforms: ['linux/amd64', 'linux/s390x'], writeIndex: true });
    expect(two.result.digest).not.toBe(idx.digest);
    expect(two.result.mapping).toEqual({ [idx.digest]: two.result.digest });
    expect(two.result.platforms.map((p) => p.digest)).toEqual([images[0].digest, images[2].digest]);
    expect(await skopeoDigest(svc.internal.host, `${two.dstRepo}:multi`)).toBe(two.result.digest);

    expect((await rejection(copyFromUpstream(repo, 'multi', { platforms: ['linux/riscv64'] }))).code).toBe('PLATFORM_NOT_FOUND');
    expect((await rejection(copyFromUpstream(repo, 'multi', { platforms: ['linux/amd64', 'linux/arm64'] }))).code).toBe('INVALID_REQUEST');
  });

  test('a registry that is not a configured upstream is refused', async () => {
    const err = await rejection(mover.copy(parseReference('ghcr.io/owner/app:1'), parseReference(`${svc.internal.host}/x:1`)));
    expect(err.code).toBe('UPSTREAM_NOT_ALLOWED');
    expect(() => resolver.clientFor(`${svc.upstream.host}/direct:1`)).toThrow(/not an allowed upstream/);
  });
});

describe('copy engine into a registry that keeps staged blobs', () => {
  it('keeps every blob as the copy its source read made while verifying it, and serves the read that follows from it', async () => {
    const staged = new StagedBlobs();
    const keeping = new UpstreamResolver(testConfig(svc.internal.url, [{ registry: UPSTREAM, endpoint: svc.proxy.url }]), { stagedBlobs: staged });
    const reads = jest.spyOn(DistributionClient.prototype, 'getBlob');
    try {
      const repo = uniqueName('staged-copy');
      const img = await layerOf(7);
      await pushImage(svc.upstream.url, repo, 'v1', img);
      const dstRepo = uniqueName('dst');
      await new RegistryMover(keeping, { jobs: 3, retries: 2 }).copy(parseReference(`${UPSTREAM}/${repo}:v1`), parseReference(`${svc.internal.host}/${dstRepo}:v1`));
      const blobs = [img.config, ...img.layers];
      // Each source read was handed a copy to fill, which ended verified and was kept.
      const copies = reads.mock.calls.map((c) => c[3]?.copyInto).filter((c) => c !== undefined);
      expect(copies).toHaveLength(blobs.length);
      expect(copies.every((c) => c.verified)).toBe(true);
      expect(staged.bytes).toBe(blobs.reduce((n, b) => n + b.size, 0));
      expect(staged.recordingBytes).toBe(0);
      for (const b of blobs) {
        const chunks: Buffer[] = [];
        for await (const c of await keeping.internal().getBlob(dstRepo, b.digest, b.size)) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).equals(b.data)).toBe(true);
      }
      expect(staged.reads).toEqual({ hits: blobs.length, misses: 0 });
    } finally {
      reads.mockRestore();
      keeping.close();
    }
  });

  /** A keeping resolver (the internal client keeps what it is asked to) and the registry mover over it, closed after `fn`. */
  async function withKeeping(fn: (staged: StagedBlobs, keeping: UpstreamResolver, copier: RegistryMover) => Promise<void>): Promise<void> {
    const staged = new StagedBlobs();
    const keeping = new UpstreamResolver(testConfig(svc.internal.url, [{ registry: UPSTREAM, endpoint: svc.proxy.url }]), { stagedBlobs: staged });
    try {
      await fn(staged, keeping, new RegistryMover(keeping, { jobs: 2, retries: 2 }));
    } finally {
      keeping.close();
    }
  }

  it('keeps the manifests it writes by digest only when asked (staging, for its scan): an index copied as a promotion is not kept', () => withKeeping(async (staged, keeping, copier) => {
    const repo = uniqueName('staged-manifests');
    const [a, b] = [await layerOf(11), await layerOf(12)];
    const idx = buildIndex([a, b]);
    await pushIndex(svc.upstream.url, repo, 'v1', idx);
    const to = (name: string) => parseReference(`${svc.internal.host}/${uniqueName(name)}@${idx.digest}`);
    await copier.copy(parseReference(`${UPSTREAM}/${repo}:v1`), to('promoted'));
    expect(staged.manifestCount).toBe(0);
    // The index and both of its children, each read back once by the scan.
    await copier.copy(parseReference(`${UPSTREAM}/${repo}:v1`), to('staged'), { keepManifests: true });
    expect(staged.manifestCount).toBe(3);
  }));

  it("the engine mover's copy out of its staging repository keeps them as it was asked", () => withKeeping(async (staged, keeping, copier) => {
    const from = uniqueName('engine-staging');
    const img = await layerOf(13);
    await pushImage(svc.internal.url, from, 'staged', img);
    const at = (repo: string) => ({ registry: svc.internal.host, repository: repo });
    await copyOutOfStaging(copier, keeping.internal(), at(from), at(uniqueName('engine-dst')), img.digest);
    expect(staged.manifestCount).toBe(0);
    await copyOutOfStaging(copier, keeping.internal(), at(from), at(uniqueName('engine-dst')), img.digest, { keepManifests: true });
    expect(staged.manifestCount).toBe(1);
  }));
});
