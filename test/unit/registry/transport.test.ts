import { parseChallenge, repositoryScope } from '../../../src/registry/auth';
import { parseRetryAfter, RegistryError, safeUrl, networkError } from '../../../src/registry/errors';
import { parseManifest } from '../../../src/registry/manifest';
import { parsePlatform, platformMatches } from '../../../src/registry/platform';
import { noProxyMatches, proxyFor } from '../../../src/lib/http';
import { backoffDelay } from '../../../src/registry/retry';
import { Router } from '../../../src/registry/routing';
import { Transport } from '../../../src/registry/transport';

describe('auth challenge', () => {
  test('parses Bearer parameters, quoted and not', () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push"')).toEqual({
      scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull,push' },
    });
    expect(parseChallenge('Basic realm=Registry')).toEqual({ scheme: 'basic', params: { realm: 'Registry' } });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(repositoryScope('a/b', 'push')).toBe('repository:a/b:pull,push');
  });
});

describe('forward proxy selection', () => {
  const env = { HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: '.corp.example,registry.local:5000,10.1.2.3' };
  test.each([
    ['https://ghcr.io/v2/', 'http://proxy:3128/'],
    ['https://a.corp.example/v2/', undefined],
    ['https://corp.example/v2/', undefined],
    ['https://registry.local:5000/v2/', undefined],
    ['https://registry.local:443/v2/', 'http://proxy:3128/'],
    ['https://10.1.2.3/v2/', undefined],
    ['https://127.0.0.1:5000/v2/', undefined],
    ['http://ghcr.io/v2/', undefined],
  ])('%s → %s', (target, expected) => {
    expect(proxyFor(new URL(target), undefined, env)?.href).toBe(expected);
  });
  test('a configured proxy always applies, and * exempts everything', () => {
    expect(proxyFor(new URL('https://127.0.0.1/'), 'http://p:1', env)?.href).toBe('http://p:1/');
    expect(noProxyMatches('*', 'anything', '443')).toBe(true);
  });
});

describe('routing of realms and redirects for an upstream behind a reverse proxy', () => {
  const base = new URL('https://proxy.internal:8443');
  const router = (env: NodeJS.ProcessEnv = {}) => new Router({ base, registryHost: 'docker.io', endpointOnly: true }, new Transport({ env }));
  test('the registry host is rewritten onto the endpoint and keeps the credentials', () => {
    expect(router().route(new URL('https://registry-1.docker.io/v2/x?y=1'))).toEqual({ url: new URL('https://proxy.internal:8443/v2/x?y=1'), registry: true });
  });
  test('another host goes under /.portcullis/ on the endpoint, without credentials', () => {
    expect(router().route(new URL('https://auth.docker.io/token?service=s'))).toEqual({
      url: new URL('https://proxy.internal:8443/.portcullis/https/auth.docker.io/token?service=s'), registry: false,
    });
  });
  test('…or through the forward proxy when one applies', () => {
    expect(router({ HTTPS_PROXY: 'http://fwd:3128' }).route(new URL('https://cdn.example/blob'))).toEqual({ url: new URL('https://cdn.example/blob'), registry: false });
  });
  test('a client not bound to an endpoint follows as is', () => {
    const r = new Router({ base: new URL('http://127.0.0.1:5000') }, new Transport());
    expect(r.route(new URL('http://s3.local/b'))).toEqual({ url: new URL('http://s3.local/b'), registry: false });
  });
});

describe('errors and retries', () => {
  test('Retry-After in seconds or as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  test('backoff is jittered under an exponential ceiling, Retry-After is the floor', () => {
    const policy = { retries: 5, baseMs: 100, random: () => 0.999 };
    expect(backoffDelay(new Error('x'), 0, policy)).toBe(99);
    expect(backoffDelay(new Error('x'), 3, policy)).toBe(799);
    expect(backoffDelay(new Error('x'), 20, policy)).toBe(29970);
    expect(backoffDelay(new RegistryError('REGISTRY_UNAVAILABLE', 'x', { retryAfterMs: 2000 }), 0, { ...policy, random: () => 0 })).toBe(2000);
  });
  test('resets are temporary, TLS failures are not; URLs in messages lose their query', () => {
    expect(networkError(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'w').temporary).toBe(true);
    expect(networkError(Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'w').temporary).toBe(false);
    expect(safeUrl('https://u:p@r.io/v2/uploads/1?_state=secret')).toBe('https://r.io/v2/uploads/1');
  });
});

describe('manifests and platforms', () => {
  test('an OCI manifest without mediaType is recognized by its shape', () => {
    const d = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 };
    expect(parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: d, layers: [] })), 'application/json').kind).toBe('image');
    expect(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config: { ...d, digest: 'sha256:zz' }, layers: [] })), undefined)).toThrow(/not a valid image manifest/);
  });
  test('platform selectors', () => {
    expect(parsePlatform('linux/arm/v7')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v7' });
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(false);
    expect(() => parsePlatform('linux')).toThrow(/os\/arch/);
  });
});
