import type { Logger } from '../../../src/lib/logger';
/**
 * detachSboms on docker-registry 2.8: what Portcullis attached goes (the SBOM artifact, its
 * entry, the index and its `sha256-<hex>` tag once empty); what it did not write stays (another
 * tool's referrer, an image tagged `sha256-<hex>` by an old digest-only approval).
 */
import { RegistryGateway } from '../../../src/intake/registry-gateway';
import { AppError } from '../../../src/lib/errors';
import { DistributionClient } from '../../../src/registry/client';
import type { Mover } from '../../../src/registry/mover';
import { attachSbom, detachSboms, readIndex, referrersTag } from '../../../src/scanners';
import { buildAttestation, buildImage, pushImage, pushManifest, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';

const svc = services();
const INDEX = 'application/vnd.oci.image.index.v1+json';
const INTOTO = 'application/vnd.in-toto+json';
const SBOM = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}');

describe('detaching the SBOM referrers of an image', () => {
  let img: BuiltImage;
  let client: DistributionClient;

  const status = async (repo: string, ref: string): Promise<number> =>
    (await fetch(`${svc.internal.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: `${INDEX}, application/vnd.oci.image.manifest.v1+json` } })).status;

  beforeAll(async () => {
    img = await buildImage({ layers: [{ files: { 'etc/app.conf': `detach ${uniqueName()}\n` } }] });
    client = new DistributionClient({ url: svc.internal.url });
  });
  afterAll(() => client.close());

  /**
   * An image with an SBOM attached, then its referrers index overwritten with one the registry
   * takes (it needs no platform os) and our reader refuses (MANIFEST_INVALID).
   */
  const withBrokenIndex = async (name: string): Promise<{ repo: string; attached: { digest: string } }> => {
    const repo = uniqueName(name);
    await pushImage(svc.internal.url, repo, 'v1', img);
    const attached = await attachSbom(client, repo, img.digest, SBOM, new Date(0).toISOString());
    const tag = referrersTag(img.digest);
    const listed = (await readIndex(client, repo, tag))!;
    const broken = [{ ...listed[0], platform: { architecture: 'amd64' } }];
    await pushManifest(svc.internal.url, repo, tag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: broken })), INDEX);
    return { repo, attached };
  };

  test('the SBOM artifact and the index tag go; the image stays; a second detach finds nothing', async () => {
    const repo = uniqueName('detach');
    await pushImage(svc.internal.url, repo, 'v1', img);
    const attached = await attachSbom(client, repo, img.digest, SBOM, new Date(0).toISOString());
    expect(await status(repo, attached.digest)).toBe(200);

    expect(await detachSboms(client, repo, img.digest)).toEqual({ removed: [attached.digest], tag: referrersTag(img.digest) });
    expect(await status(repo, attached.digest)).toBe(404);
    expect(await tagsOf(svc.internal.url, repo)).toEqual(['v1']);
    expect(await status(repo, img.digest)).toBe(200);
    expect(await detachSboms(client, repo, img.digest)).toEqual({ removed: [], tag: referrersTag(img.digest) });
  });

  test('another tool\'s referrer stays listed under the tag; only the SBOM leaves', async () => {
    const repo = uniqueName('detach-foreign');
    await pushImage(svc.internal.url, repo, undefined, img);
    const attached = await attachSbom(client, repo, img.digest, SBOM, new Date(0).toISOString());
    const att = buildAttestation(img);
    await pushImage(svc.internal.url, repo, undefined, att);
    const foreign = { mediaType: att.mediaType, digest: att.digest, size: att.manifest.length, artifactType: INTOTO };
    const listed = (await readIndex(client, repo, referrersTag(img.digest)))!;
    await pushManifest(svc.internal.url, repo, referrersTag(img.digest), Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [...listed, foreign] })), INDEX);

    expect((await detachSboms(client, repo, img.digest)).removed).toEqual([attached.digest]);
    expect(await readIndex(client, repo, referrersTag(img.digest))).toEqual([foreign]);
    expect(await status(repo, att.digest)).toBe(200);
    expect(await status(repo, attached.digest)).toBe(404);
  });

  test('an image tagged sha256-<hex> (an old digest-only approval) is not a referrers index: left alone', async () => {
    const repo = uniqueName('detach-legacy');
    const tag = referrersTag(img.digest);
    await pushImage(svc.internal.url, repo, tag, img);
    expect(await detachSboms(client, repo, img.digest)).toEqual({ removed: [], tag: null });
    expect(await tagsOf(svc.internal.url, repo)).toEqual([tag]);
    expect(await status(repo, tag)).toBe(200);
  });

  test('a broken referrers index under the tag is an error, for an attach and a detach alike: not taken for something else', async () => {
    const { repo, attached } = await withBrokenIndex('detach-broken');

    const codeOf = (p: Promise<unknown>) => p.then(() => 'resolved', (err: unknown) => (err instanceof AppError ? err.code : String(err)));
    expect(await codeOf(attachSbom(client, repo, img.digest, Buffer.from('{"bomFormat":"CycloneDX","components":[]}'), new Date(0).toISOString()))).toBe('MANIFEST_INVALID');
    expect(await codeOf(detachSboms(client, repo, img.digest))).toBe('MANIFEST_INVALID');
    // Nothing was deleted on the strength of a misread: the artifact is still there.
    expect(await status(repo, attached.digest)).toBe(200);
  });

  describe('the registry gateway deleting an image (revocation, quarantine purge)', () => {
    const gateway = (detach: (repository: string, digest: string) => Promise<void>): RegistryGateway =>
      new RegistryGateway({ upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: svc.internal.host, mover: {} as Mover, referrers: { detach } });

    test('its SBOM referrers go with it, the tag on the image too', async () => {
      const repo = uniqueName('unpublish');
      await pushImage(svc.internal.url, repo, 'v1', img);
      const attached = await attachSbom(client, repo, img.digest, SBOM, new Date(0).toISOString());
      await gateway(async (r, d) => { await detachSboms(client, r, d); }).unpublish(repo, img.digest);
      expect(await tagsOf(svc.internal.url, repo)).toEqual([]);
      expect(await status(repo, img.digest)).toBe(404);
      expect(await status(repo, attached.digest)).toBe(404);
    });

    test('the image is deleted even when its referrers could not be; their error makes the caller (the retried job) try again', async () => {
      const repo = uniqueName('unpublish-fails');
      await pushImage(svc.internal.url, repo, 'v1', img);
      const attached = await attachSbom(client, repo, img.digest, SBOM, new Date(0).toISOString());
      const refused = new AppError('REGISTRY_UNAVAILABLE', 'the registry refused the referrers index', { temporary: true });
      await expect(gateway(() => Promise.reject(refused)).unpublish(repo, img.digest)).rejects.toBe(refused);
      expect(await status(repo, img.digest)).toBe(404);
      expect(await status(repo, referrersTag(img.digest))).toBe(200);
      // The retry: the image is already gone, its referrers go now.
      await gateway(async (r, d) => { await detachSboms(client, r, d); }).unpublish(repo, img.digest);
      expect(await tagsOf(svc.internal.url, repo)).toEqual([]);
      expect(await status(repo, attached.digest)).toBe(404);
    });

    test('a referrers index that cannot be read does not fail the unpublish for ever: the image goes, the index stays, the error is logged', async () => {
      const { repo, attached } = await withBrokenIndex('unpublish-broken');
      const logged: unknown[] = [];
      const logger = { error: (o: unknown) => logged.push(o) } as unknown as Logger;
      const g = new RegistryGateway({ upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: svc.internal.host, mover: {} as Mover, logger,
        referrers: { detach: async (r, d) => { await detachSboms(client, r, d); } } });
      await g.unpublish(repo, img.digest);
      expect(await status(repo, img.digest)).toBe(404);
      expect(await status(repo, attached.digest)).toBe(200);
      expect(logged).toEqual([expect.objectContaining({ repository: repo, digest: img.digest, error: expect.objectContaining({ code: 'MANIFEST_INVALID' }) })]);
    });
  });
});
