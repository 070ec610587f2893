/**
 * No secret reaches a log line: the built service runs at trace level, pulls through nginx
 * from an upstream that really demands Basic credentials (given by env), is called with
 * good and wrong bearer tokens, and takes a request to awaiting_approval. Its whole output
 * is then searched for every secret, plain and base64-encoded.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PULL_USER, startAuthRegistry } from '../../harness/auth-registry';
import { buildImage, pushImage } from '../../harness/images';
import { startNginx, type NginxService } from '../../harness/nginx';
import { freePort, tempDir, waitFor } from '../../harness/proc';
import type { RegistryService } from '../../harness/registry';
import { services, uniqueName } from '../../harness/services';
import { startService } from './spawn-service';

describe('secrets never reach the logs', () => {
  const svc = services();
  let upstream: RegistryService;
  let proxy: NginxService;

  beforeAll(async () => {
    upstream = await startAuthRegistry('secret-upstream');
    proxy = await startNginx({ upstream: upstream.url, name: 'secret-proxy' });
  });
  afterAll(async () => {
    await proxy.stop();
    await upstream.stop();
  });

  it('keeps tokens and passwords out of every line, while the flow really used them', async () => {
    const devToken = `pc_${randomBytes(24).toString('hex')}`;
    const wrongToken = `pc_${randomBytes(24).toString('hex')}`;
    const internalPassword = `int-${randomBytes(12).toString('hex')}`;
    const dir = tempDir('secrets');
    const tokensFile = path.join(dir, 'tokens.yaml');
    writeFileSync(tokensFile, YAML.stringify([{ name: 'dev', roles: ['developer'], teams: ['payments'], tokenSha256: createHash('sha256').update(devToken).digest('hex') }]));
    const repo = uniqueName('secret');
    await pushImage(upstream.url, repo, '1.0', await buildImage({ layers: [{ files: { 'a.txt': repo } }] }), PULL_USER);

    const port = await freePort();
    const upstreamName = 'registry.example.test';
    const service = startService({
      server: { port },
      redis: { url: svc.redis.url, prefix: uniqueName('secrets') },
      internalRegistry: { url: svc.internal.url, username: 'portcullis' },
      upstreams: [{ registry: upstreamName, endpoint: proxy.url, username: PULL_USER.username }],
      auth: { tokensFile },
      scanners: [],
      log: { level: 'trace' },
    }, [], {
      PORTCULLIS_UPSTREAM_REGISTRY_EXAMPLE_TEST_PASSWORD: PULL_USER.password,
      PORTCULLIS_INTERNAL_REGISTRY_PASSWORD: internalPassword,
    });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'service', 20000);
      const wrong = await fetch(`${base}/v1/requests`, { headers: { authorization: `Bearer ${wrongToken}` } });
      expect(wrong.status).toBe(401);
      const created = await fetch(`${base}/v1/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${devToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ image: `${upstreamName}/${repo}:1.0`, team: 'payments', justification: 'secrets test' }),
      });
      expect(created.status).toBe(202);
      const { id } = await created.json() as { id: string };
      let status = '';
      await waitFor(async () => {
        const r = await fetch(`${base}/v1/requests/${id}`, { headers: { authorization: `Bearer ${devToken}` } });
        status = ((await r.json()) as { status: string }).status;
        return ['awaiting_approval', 'failed'].includes(status);
      }, 'awaiting_approval', 30000);
      // It got there only by sending the upstream password (the registry refuses otherwise).
      expect(status).toBe('awaiting_approval');
      expect(proxy.requests().some((l) => l.includes(`/v2/${repo}/manifests/1.0 200`))).toBe(true);
    } finally {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    const output = service.stdout() + service.stderr();
    expect(output.split('\n').length).toBeGreaterThan(10);
    const basic = Buffer.from(`${PULL_USER.username}:${PULL_USER.password}`).toString('base64');
    for (const secret of [devToken, wrongToken, PULL_USER.password, internalPassword, basic]) {
      expect({ secret, found: output.includes(secret) }).toEqual({ secret, found: false });
    }
  });
});
