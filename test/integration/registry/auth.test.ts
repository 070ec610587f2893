import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import YAML from 'yaml';
import { startConnectProxy } from '../../harness/connect-proxy';
import { makeCert } from '../../harness/certs';
import { buildImage, type BuiltImage } from '../../harness/images';
import { startNginx } from '../../harness/nginx';
import { freePort, portOpen, startProcess, tempDir } from '../../harness/proc';
import { registryConfig, startRegistry } from '../../harness/registry';
import { services, uniqueName } from '../../harness/services';
import { startTokenServer } from '../../harness/token-server';
import { PULL_USER, startAuthRegistry } from '../../harness/auth-registry';
import { DistributionClient, type ClientOptions } from '../../../src/registry/client';
import { copyImage } from '../../../src/registry/copy';
import { parseReference } from '../../../src/registry/reference';
import { RegistryMover } from '../../../src/registry/registry-mover';
import { UpstreamResolver } from '../../../src/registry/resolver';
import { accessLog, rejection, skopeoDigest, testConfig } from './helpers';

const svc = services();
const internal = new DistributionClient({ url: svc.internal.url });
const stops: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  internal.close();
  for (const stop of stops.reverse()) await stop();
});

const USER = PULL_USER;

/** Pushes an image with the client under test (the harness pushes with Basic auth only). */
async function push(opts: ClientOptions, repo: string, img: BuiltImage): Promise<void> {
  const client = new DistributionClient(opts);
  try {
    for (const b of [img.config, ...img.layers]) await client.uploadBlob(repo, b.digest, b.size, Readable.from([b.data]));
    await client.putManifest(repo, 'v1', img.manifest, img.mediaType);
  } finally {
    client.close();
  }
}

function image(): Promise<BuiltImage> {
  return buildImage({ layers: [{ files: { 'auth.txt': `secret ${Math.random()}` } }] });
}

describe('registry authentication', () => {
  test('htpasswd Basic auth: push and copy with credentials, refused without or with a wrong password', async () => {
    const reg = await startAuthRegistry('htpasswd-registry');
    stops.push(() => reg.stop());
    const repo = uniqueName('basic');
    const img = await image();
    await push({ url: reg.url, credentials: USER }, repo, img);
    const src = new DistributionClient({ url: reg.url, credentials: USER });
    stops.push(() => src.close());
    const dstRepo = uniqueName('basic-dst');
    const result = await copyImage({ client: src, repository: repo, reference: 'v1' }, { client: internal, repository: dstRepo, tag: 'v1' });
    expect(result.digest).toBe(img.digest);
    expect(await skopeoDigest(svc.internal.host, `${dstRepo}:v1`)).toBe(img.digest);
    for (const credentials of [undefined, { username: USER.username, password: 'wrong' }]) {
      const c = new DistributionClient({ url: reg.url, credentials });
      expect((await rejection(c.getManifest(repo, 'v1'))).code).toBe('REGISTRY_AUTH_FAILED');
      c.close();
    }
  });

  test.each(['token', 'access_token'] as const)('token auth (%s): JWTs the registry verifies, realm reached through the reverse proxy, one token per scope', async (field) => {
    const tokens = await startTokenServer({ users: { [USER.username]: USER.password }, field });
    stops.push(() => tokens.close());
    const reg = await startRegistry({ name: 'token-registry', config: { auth: tokens.registryAuth() } });
    stops.push(() => reg.stop());
    const realmHost = new URL(tokens.url).host;
    // The realm is on another host: the reverse proxy serves it under /.portcullis/http/<host>/ (routing.ts).
    const nginx = await startNginx({
      upstream: reg.url, name: 'token-proxy',
      locationExtra: `location /.portcullis/http/${realmHost}/ { proxy_pass ${tokens.url}/; }`,
    });
    stops.push(() => nginx.stop());
    const repo = uniqueName('token');
    const img = await image();
    await push({ url: reg.url, credentials: USER }, repo, img);
    expect(tokens.requests.some((r) => r.user === USER.username && r.scopes.includes(`repository:${repo}:pull,push`))).toBe(true);
    expect((await rejection(push({ url: reg.url, credentials: { username: 'ci', password: 'nope' } }, repo, img))).code).toBe('REGISTRY_AUTH_FAILED');

    const before = tokens.requests.length;
    const resolver = new UpstreamResolver(testConfig(svc.internal.url, [{ registry: 'tokens.test', endpoint: nginx.url }]));
    stops.push(() => resolver.close());
    const dstRepo = uniqueName('token-dst');
    const result = await new RegistryMover(resolver).copy(parseReference(`tokens.test/${repo}:v1`), parseReference(`${svc.internal.host}/${dstRepo}:v1`));
    expect(result.digest).toBe(img.digest);
    const during = tokens.requests.slice(before);
    expect(during).toEqual([{ scopes: [`repository:${repo}:pull`], service: tokens.service, user: undefined, host: nginx.host }]);
    expect(accessLog(nginx.accessLog).filter((l) => l.startsWith(`GET /.portcullis/http/${realmHost}/token 200`))).toHaveLength(1);
    // Anonymous tokens grant pull only: a push through the same path is refused.
    const anon = resolver.clientFor(`tokens.test/${repo}`);
    expect((await rejection(anon.putManifest(repo, 'other', img.manifest, img.mediaType))).code).toBe('REGISTRY_AUTH_FAILED');
  });

  test('TLS with a CA file, through a CONNECT forward proxy; refused without the CA unless insecure', async () => {
    const cert = makeCert('tls-registry');
    // The harness's startRegistry serves plain HTTP; this one serves TLS on a port of its own.
    const dir = tempDir('tls-registry');
    const port = await freePort();
    const config = registryConfig(port, path.join(dir, 'data'));
    config.http = { ...(config.http as object), tls: { certificate: cert.certFile, key: cert.keyFile } };
    writeFileSync(path.join(dir, 'config.yml'), YAML.stringify(config));
    const tls = await startProcess({ name: 'tls-registry', command: 'docker-registry', args: ['serve', path.join(dir, 'config.yml')], dir, ready: () => portOpen(port) });
    stops.push(() => tls.stop());
    const url = `https://127.0.0.1:${port}`;
    const proxy = await startConnectProxy();
    stops.push(() => proxy.close());
    const client = new DistributionClient({ url, caFile: cert.certFile, proxy: proxy.url });
    stops.push(() => client.close());
    const repo = uniqueName('tls');
    const img = await image();
    await push({ url, caFile: cert.certFile, proxy: proxy.url }, repo, img);
    expect((await client.getManifest(repo, 'v1')).digest).toBe(img.digest);
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([`127.0.0.1:${port}`]));
    const untrusted = new DistributionClient({ url });
    const err = await rejection(untrusted.ping());
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    untrusted.close();
    const insecure = new DistributionClient({ url, insecure: true });
    await insecure.ping();
    insecure.close();
  });
});
