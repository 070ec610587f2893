/**
 * What an SBOM attach asks of the registry (issue 17: the attach nearly doubled the internal
 * registry's requests per pipeline request): in a new repository, the empty config blob is
 * mounted from where this process last put it, the SBOM blob (new with each scan: it carries
 * the scan's time) is uploaded without asking first, and the referrers tag is read with a GET
 * only. The result is what any OCI client reads: the index lists the SBOM, the artifact's
 * config is there. Requests are noted as they reach the registry (a proxy in front of it), so
 * any request added, of any kind, fails the test.
 */
import { createHash } from 'node:crypto';
import { DistributionClient } from '../../../src/registry/client';
import { attachSbom, readIndex, referrersTag } from '../../../src/scanners';
import { EMPTY_DIGEST } from '../../../src/scanners/sbom/referrer';
import { startFaultProxy, type FaultProxy } from '../../harness/fault-proxy';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

const svc = services();
const sbom = (n: number) => Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: `urn:uuid:${n}`, components: [] }));

describe('the registry requests of an SBOM attach', () => {
  // Every HTTP request the client makes goes through this proxy, which notes each one.
  let proxy: FaultProxy;
  let client: DistributionClient;
  beforeAll(async () => {
    proxy = await startFaultProxy(svc.internal.url, () => ({ kind: 'pass' }));
    client = new DistributionClient({ url: proxy.url });
  });
  afterAll(async () => {
    client.close();
    await proxy.close();
  });

  /** Each request as `METHOD path?query`, an upload session's id and state as `<upload>`. */
  const requests = (): string[] => proxy.log.map((r) => `${r.method} ${decodeURIComponent(r.path)}`
    .replace(/\/blobs\/uploads\/[0-9a-f-]{36}/, '/blobs/uploads/<upload>').replace(/_state=[^&]*/, '_state=<state>'));
  const since = (): (() => string[]) => {
    const from = proxy.log.length;
    return () => requests().slice(from);
  };

  test('a second repository gets the empty config by a mount; no HEAD before the SBOM upload, no HEAD before a tag read', async () => {
    const repos = [uniqueName('sbom-req'), uniqueName('sbom-req')];
    const imgs = await Promise.all(repos.map((r) => buildImage({ layers: [{ files: { 'etc/x': r } }] })));
    for (const [i, repo] of repos.entries()) await pushImage(svc.internal.url, repo, 'v1', imgs[i]);
    await attachSbom(client, repos[0], imgs[0].digest, sbom(0), new Date(0).toISOString());
    const made = since();
    const attached = await attachSbom(client, repos[1], imgs[1].digest, sbom(1), new Date(0).toISOString());
    const [from, repo] = repos;
    const tag = referrersTag(imgs[1].digest);
    const sbomDigest = `sha256:${createHash('sha256').update(sbom(1)).digest('hex')}`;
    // Every request, in order: nothing else.
    expect(made()).toEqual([
      `HEAD /v2/${repo}/manifests/${imgs[1].digest}`,
      `POST /v2/${repo}/blobs/uploads/?mount=${EMPTY_DIGEST}&from=${from}`,
      `POST /v2/${repo}/blobs/uploads/`,
      `PUT /v2/${repo}/blobs/uploads/<upload>?_state=<state>&digest=${sbomDigest}`,
      `PUT /v2/${repo}/manifests/${attached.digest}`,
      `GET /v2/${repo}/manifests/${tag}`,
      `PUT /v2/${repo}/manifests/${tag}`,
      `GET /v2/${repo}/manifests/${tag}`,
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
    const made = since();
    const second = await attachSbom(client, repo, img.digest, sbom(1), new Date(0).toISOString());
    expect(made().filter((c) => c.includes(EMPTY_DIGEST))).toEqual([]);
    expect(made().map((c) => c.split(' ')[0])).toEqual(['HEAD', 'POST', 'PUT', 'PUT', 'GET', 'PUT', 'GET']);
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

  test('a manifest PUT refused during a concurrent write of the link file (DIGEST_INVALID beside MANIFEST_BLOB_UNKNOWN) is retried as it is, without writing the empty config again', async () => {
    let refuseNext = false;
    const concurrent = JSON.stringify({ errors: [{ code: 'DIGEST_INVALID', message: 'invalid digest' }, { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry' }] });
    const racing = await startFaultProxy(svc.internal.url, (r) => {
      if (refuseNext && r.method === 'PUT' && /\/manifests\/sha256:/.test(r.path)) {
        refuseNext = false;
        return { kind: 'respond', status: 400, headers: { 'content-type': 'application/json' }, body: concurrent };
      }
      return { kind: 'pass' };
    });
    const through = new DistributionClient({ url: racing.url });
    try {
      const repo = uniqueName('sbom-racing');
      const img = await buildImage({ layers: [{ files: { 'etc/x': repo } }] });
      await pushImage(svc.internal.url, repo, 'v1', img);
      await attachSbom(through, repo, img.digest, sbom(0), new Date(0).toISOString());
      const from = racing.log.length;
      refuseNext = true;
      const second = await attachSbom(through, repo, img.digest, sbom(1), new Date(0).toISOString());
      const made = racing.log.slice(from);
      expect(made.filter((r) => r.action === 'respond')).toHaveLength(1);
      expect(made.filter((r) => r.path.includes(EMPTY_DIGEST))).toEqual([]);
      expect((await readIndex(through, repo, referrersTag(img.digest)))?.map((d) => d.digest)).toContain(second.digest);
    } finally {
      through.close();
      await racing.close();
    }
  });
});
