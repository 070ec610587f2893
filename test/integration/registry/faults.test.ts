import { buildImage, buildIndex, pushImage, randomFile, sha256, type BuiltImage } from '../../harness/images';
import { startFaultProxy, type FaultAction, type FaultProxy, type FaultRequest } from '../../harness/fault-proxy';
import { services, uniqueName } from '../../harness/services';
import { DistributionClient } from '../../../src/registry/client';
import type { RegistryError } from '../../../src/registry/errors';
import { parseReference } from '../../../src/registry/reference';
import { RegistryMover } from '../../../src/registry/registry-mover';
import { UpstreamResolver } from '../../../src/registry/resolver';
import { rejection, testConfig } from './helpers';

const svc = services();
const internal = new DistributionClient({ url: svc.internal.url });
const OCI = 'application/vnd.oci.image.manifest.v1+json';
let proxy: FaultProxy | undefined;
let resolver: UpstreamResolver | undefined;

afterEach(async () => {
  resolver?.close();
  await proxy?.close();
});
afterAll(() => internal.close());

/** A mover whose upstream `faulty.test` is the fault proxy in front of the upstream registry. */
async function faulty(decide: (r: FaultRequest) => FaultAction): Promise<RegistryMover> {
  proxy = await startFaultProxy(svc.upstream.url, decide);
  resolver = new UpstreamResolver(testConfig(svc.internal.url, [{ registry: 'faulty.test', endpoint: proxy.url }]));
  return new RegistryMover(resolver, { jobs: 2, retries: 3 });
}

async function pushed(): Promise<{ repo: string; img: BuiltImage }> {
  const repo = uniqueName('fault');
  const img = await buildImage({ layers: [{ files: {}, raw: randomFile(50_000) }, { files: { a: 'small' } }] });
  await pushImage(svc.upstream.url, repo, 'v1', img);
  return { repo, img };
}

const pass: FaultAction = { kind: 'pass' };
const src = (repo: string, ref = 'v1') => parseReference(`faulty.test/${repo}:${ref}`);
const dst = (repo: string) => parseReference(`${svc.internal.host}/${repo}:v1`);

describe('copy engine against a misbehaving proxy or registry', () => {
  test('one flipped byte in a layer → DIGEST_MISMATCH, and nothing is tagged or stored at the destination', async () => {
    const { repo, img } = await pushed();
    const layer = img.layers[0];
    const mover = await faulty((r) => (r.method === 'GET' && r.path.endsWith(`/blobs/${layer.digest}`) ? { kind: 'flip', offset: 40_000 } : pass));
    const dstRepo = uniqueName('tampered');
    const err = await rejection(mover.copy(src(repo), dst(dstRepo), { retryBaseMs: 5 }));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(layer.digest);
    expect(await internal.headManifest(dstRepo, 'v1')).toBeNull();
    expect(await internal.headManifest(dstRepo, img.digest)).toBeNull();
    expect(await internal.headBlob(dstRepo, layer.digest)).toBeNull();
    // Not retried: a mismatch is not a temporary failure.
    expect(proxy!.log.filter((l) => l.path.endsWith(`/blobs/${layer.digest}`))).toHaveLength(1);
  });

  test('503 twice, then success: the copy succeeds, retrying only what failed', async () => {
    const { repo, img } = await pushed();
    const layer = img.layers[0];
    const mover = await faulty((r) => (r.method === 'GET' && r.seen < 2 && (r.path.endsWith('/manifests/v1') || r.path.endsWith(`/blobs/${layer.digest}`))
      ? { kind: 'respond', status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}' } : pass));
    const dstRepo = uniqueName('retried');
    const result = await mover.copy(src(repo), dst(dstRepo), { retryBaseMs: 5 });
    expect(result.digest).toBe(img.digest);
    expect((await internal.headManifest(dstRepo, 'v1'))?.digest).toBe(img.digest);
    const gets = (suffix: string) => proxy!.log.filter((l) => l.method === 'GET' && l.path.endsWith(suffix)).map((l) => l.action);
    expect(gets(`/blobs/${layer.digest}`)).toEqual(['respond', 'respond', 'pass']);
    expect(gets(`/blobs/${img.layers[1].digest}`)).toEqual(['pass']);
  });

  test('429 with Retry-After is honoured before the next attempt', async () => {
    const { repo, img } = await pushed();
    const layer = img.layers[0];
    const mover = await faulty((r) => (r.method === 'GET' && r.seen === 0 && r.path.endsWith(`/blobs/${layer.digest}`)
      ? { kind: 'respond', status: 429, headers: { 'retry-after': '1' }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' } : pass));
    const result = await mover.copy(src(repo), dst(uniqueName('limited')), { retryBaseMs: 1 });
    expect(result.digest).toBe(img.digest);
    const attempts = proxy!.log.filter((l) => l.method === 'GET' && l.path.endsWith(`/blobs/${layer.digest}`));
    expect(attempts.map((a) => a.action)).toEqual(['respond', 'pass']);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(1000);
  });

  test('a 5xx that never ends fails the copy with REGISTRY_UNAVAILABLE after the retries', async () => {
    const { repo, img } = await pushed();
    const mover = await faulty((r) => (r.path.endsWith(`/blobs/${img.layers[1].digest}`) && r.method === 'GET' ? { kind: 'respond', status: 502 } : pass));
    const dstRepo = uniqueName('down');
    const err = await rejection(mover.copy(src(repo), dst(dstRepo), { retryBaseMs: 1, retries: 2 }));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(proxy!.log.filter((l) => l.path.endsWith(`/blobs/${img.layers[1].digest}`) && l.method === 'GET')).toHaveLength(3);
    expect(await internal.headManifest(dstRepo, 'v1')).toBeNull();
  });

  test.each([false, true])('a manifest over the 4 MiB cap is refused (chunked: %s)', async (chunked) => {
    const big = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI, annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } }));
    const mover = await faulty((r) => (r.path.endsWith('/manifests/big') ? { kind: 'respond', status: 200, headers: { 'content-type': OCI }, body: big, chunked } : pass));
    const err = await rejection(mover.copy(src('any/repo', 'big'), dst(uniqueName('big'))));
    expect(err.code).toBe('MANIFEST_TOO_LARGE');
    expect(err.message).toMatch(/4194304-byte cap/);
  });

  test('a manifest list pointing at itself is refused', async () => {
    const child = sha256('anything');
    const loop = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: child, size: 0, platform: { os: 'linux', architecture: 'amd64' } }],
    }));
    const looped = Buffer.from(loop.toString().replace('"size":0', `"size":${loop.length}`));
    const mover = await faulty((r) => (r.path.endsWith('/manifests/loop') || r.path.endsWith(`/manifests/${child}`)
      ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: looped } : pass));
    const dstRepo = uniqueName('loop');
    const err = await rejection(mover.copy(src('any/repo', 'loop'), dst(dstRepo)));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toMatch(/refers to itself/);
  });

  test.each([
    ['not JSON', 'this is not json', OCI, 'MANIFEST_INVALID', /not JSON/],
    ['schema 1', '{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}', 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'MANIFEST_UNSUPPORTED', /schema 1/],
    ['an unknown type', '{"schemaVersion":2,"mediaType":"application/x-unknown"}', 'application/x-unknown', 'MANIFEST_UNSUPPORTED', /unsupported media type/],
    ['a manifest without layers', `{"schemaVersion":2,"mediaType":"${OCI}","config":{}}`, OCI, 'MANIFEST_INVALID', /not a valid image manifest/],
  ])('a manifest that is %s is refused', async (_name, body, contentType, code, message) => {
    const mover = await faulty((r) => (r.path.endsWith('/manifests/bad') ? { kind: 'respond', status: 200, headers: { 'content-type': contentType }, body } : pass));
    const err = await rejection(mover.copy(src('any/repo', 'bad'), dst(uniqueName('bad'))));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });

  test('Distribution error bodies become RegistryErrors with their codes, read at most 64 KiB', async () => {
    const huge = JSON.stringify({ errors: [{ code: 'NAME_INVALID', message: 'invalid repository name' }], pad: 'y'.repeat(200_000) });
    await faulty((r) => (r.path.endsWith('/manifests/err') ? { kind: 'respond', status: 400, body: '{"errors":[{"code":"NAME_INVALID","message":"invalid repository name"}]}' }
      : r.path.endsWith('/manifests/huge') ? { kind: 'respond', status: 400, body: huge }
        : r.path.endsWith('/manifests/boom') ? { kind: 'respond', status: 500, body: 'oops' } : pass));
    const client = resolver!.clientFor('faulty.test/some/repo');
    const err = (await rejection(client.getManifest('some/repo', 'err'))) as RegistryError;
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', httpStatus: 400, temporary: false, errors: [{ code: 'NAME_INVALID', message: 'invalid repository name' }] });
    // Cut at 64 KiB, the body is no longer JSON: the status alone is reported.
    expect(((await rejection(client.getManifest('some/repo', 'huge'))) as RegistryError).errors).toEqual([]);
    expect(await rejection(client.getManifest('some/repo', 'boom'))).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', temporary: true, httpStatus: 500 });
  });
});

test('an index built by the harness copies through the fault proxy unchanged when nothing misbehaves', async () => {
  const repo = uniqueName('clean');
  const a = await buildImage({ layers: [{ files: { a: '1' } }], architecture: 'amd64' });
  const idx = buildIndex([a]);
  await pushImage(svc.upstream.url, repo, undefined, a);
  const { pushManifest } = await import('../../harness/images');
  await pushManifest(svc.upstream.url, repo, 'v1', idx.manifest, idx.mediaType);
  const mover = await faulty(() => pass);
  expect((await mover.copy(src(repo), dst(uniqueName('clean')))).digest).toBe(idx.digest);
});

test('a blob redirect to another host is followed without the registry\'s Authorization', async () => {
  const http = await import('node:http');
  const { repo, img } = await pushed();
  const layer = img.layers[0];
  const seen: Array<string | undefined> = [];
  const storage = http.createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'content-length': String(layer.size) }).end(layer.data);
  });
  await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
  const storageUrl = `http://127.0.0.1:${(storage.address() as import('node:net').AddressInfo).port}`;
  // The proxy asks for Basic auth on /v2/ (so the client authenticates every call) and
  // redirects the layer to "object storage" on another port, as S3-backed registries do.
  proxy = await startFaultProxy(svc.upstream.url, (r): FaultAction => (r.path === '/v2/' && !r.authorized
    ? { kind: 'respond', status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } }
    : r.method === 'GET' && r.path.endsWith(`/blobs/${layer.digest}`)
      ? { kind: 'respond', status: 307, headers: { location: `${storageUrl}/bucket/blob?X-Amz-Signature=abc` } } : pass));
  const client = new DistributionClient({ url: proxy.url, credentials: { username: 'u', password: 'p' } });
  try {
    const chunks: Buffer[] = [];
    for await (const c of await client.getBlob(repo, layer.digest, layer.size)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(layer.data)).toBe(true);
    expect(seen).toEqual([undefined]);
    expect(proxy.log.filter((l) => l.path.endsWith(`/blobs/${layer.digest}`)).map((l) => l.authorized)).toEqual([true]);
  } finally {
    client.close();
    await new Promise<void>((resolve) => storage.close(() => resolve()));
  }
});
