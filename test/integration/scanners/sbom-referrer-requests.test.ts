/**
 * What an SBOM attach asks of the registry (issue 17: the attach nearly doubled the internal
 * registry's requests per pipeline request): in a new repository, the empty config blob is
 * mounted from where this process last put it, the SBOM blob (new with each scan: it carries
 * the scan's time) is uploaded without asking first, and the referrers tag is read with a GET
 * only. The result is what any OCI client reads: the index lists the SBOM, the artifact's
 * config is there.
 */
import type { Readable } from 'node:stream';
import { DistributionClient } from '../../../src/registry/client';
import { attachSbom, readIndex, referrersTag } from '../../../src/scanners';
import { EMPTY_DIGEST } from '../../../src/scanners/sbom/referrer';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

const svc = services();
const sbom = (n: number) => Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: `urn:uuid:${n}`, components: [] }));

/** The real client, noting each registry call it is asked for (method and first two arguments). */
class RecordingClient extends DistributionClient {
  readonly calls: string[] = [];
  override headBlob(repository: string, digest: string) { this.calls.push(`headBlob ${repository} ${digest}`); return super.headBlob(repository, digest); }
  override mountBlob(repository: string, digest: string, from: string) { this.calls.push(`mountBlob ${repository} ${digest}`); return super.mountBlob(repository, digest, from); }
  override uploadBlob(repository: string, digest: string, size: number, body: Readable) { this.calls.push(`uploadBlob ${repository} ${digest}`); return super.uploadBlob(repository, digest, size, body); }
  override headManifest(repository: string, reference: string) { this.calls.push(`headManifest ${repository} ${reference}`); return super.headManifest(repository, reference); }
  override getManifest(repository: string, reference: string) { this.calls.push(`getManifest ${repository} ${reference}`); return super.getManifest(repository, reference); }
}

describe('the registry requests of an SBOM attach', () => {
  const client = new RecordingClient({ url: svc.internal.url });
  afterAll(() => client.close());

  test('a second repository gets the empty config by a mount; no HEAD before the SBOM upload, no HEAD before a tag read', async () => {
    const repos = [uniqueName('sbom-req'), uniqueName('sbom-req')];
    const imgs = await Promise.all(repos.map((r) => buildImage({ layers: [{ files: { 'etc/x': r } }] })));
    for (const [i, repo] of repos.entries()) await pushImage(svc.internal.url, repo, 'v1', imgs[i]);
    await attachSbom(client, repos[0], imgs[0].digest, sbom(0), new Date(0).toISOString());
    client.calls.length = 0;
    const attached = await attachSbom(client, repos[1], imgs[1].digest, sbom(1), new Date(0).toISOString());
    const [, repo] = repos;
    const tag = referrersTag(imgs[1].digest);
    expect(client.calls).toEqual([
      `headManifest ${repo} ${imgs[1].digest}`,
      `mountBlob ${repo} ${EMPTY_DIGEST}`,
      expect.stringMatching(new RegExp(`^uploadBlob ${repo} sha256:`)),
      `getManifest ${repo} ${tag}`,
      `getManifest ${repo} ${tag}`,
    ]);
    // What a reader finds: the index lists the artifact, whose config blob the mount put there.
    expect((await readIndex(client, repo, tag))?.map((d) => d.digest)).toEqual([attached.digest]);
    expect(await client.headBlob(repo, EMPTY_DIGEST)).toMatchObject({ digest: EMPTY_DIGEST, size: 2 });
  });

  test('a second attach in the same repository asks nothing about the empty config (no read turned into a write)', async () => {
    const repo = uniqueName('sbom-again');
    const img = await buildImage({ layers: [{ files: { 'etc/x': repo } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    await attachSbom(client, repo, img.digest, sbom(0), new Date(0).toISOString());
    client.calls.length = 0;
    const second = await attachSbom(client, repo, img.digest, sbom(1), new Date(0).toISOString());
    expect(client.calls.filter((c) => c.includes(EMPTY_DIGEST))).toEqual([]);
    expect(client.calls).toHaveLength(4);
    expect((await readIndex(client, repo, referrersTag(img.digest)))?.map((d) => d.digest)).toContain(second.digest);
  });

  test('a repository that lost the empty config since (deleted, as by garbage collection) gets it again', async () => {
    const repo = uniqueName('sbom-lost');
    const img = await buildImage({ layers: [{ files: { 'etc/x': repo } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    await attachSbom(client, repo, img.digest, sbom(0), new Date(0).toISOString());
    const deleted = await fetch(`${svc.internal.url}/v2/${repo}/blobs/${EMPTY_DIGEST}`, { method: 'DELETE' });
    expect(deleted.status).toBe(202);
    expect(await client.headBlob(repo, EMPTY_DIGEST)).toBeNull();
    const again = await attachSbom(client, repo, img.digest, sbom(1), new Date(0).toISOString());
    expect(await client.headBlob(repo, EMPTY_DIGEST)).toMatchObject({ digest: EMPTY_DIGEST, size: 2 });
    expect((await readIndex(client, repo, referrersTag(img.digest)))?.map((d) => d.digest)).toContain(again.digest);
  });
});
