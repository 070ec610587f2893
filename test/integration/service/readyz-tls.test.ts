/**
 * `/readyz` behind a private CA (issue 10.5): the internal registry serves TLS with a
 * certificate signed by a CA made here. With `internalRegistry.caFile` naming that CA the
 * service is ready; without it the registry's certificate is not trusted and /readyz says
 * which dependency is not ready. Readiness is the registry client's own ping(), so it honours
 * the same TLS settings as every copy.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { startTestApp, type TestApp } from '../../harness/app';
import { makeCaSignedCert } from '../../harness/certs';
import { freePort, portOpen, startProcess, tempDir, type Service } from '../../harness/proc';
import { registryConfig } from '../../harness/registry';

describe('/readyz with the internal registry behind a private CA', () => {
  const cert = makeCaSignedCert('readyz-registry');
  let registry: Service;
  let url: string;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    const dir = tempDir('readyz-tls-registry');
    const port = await freePort();
    const config = registryConfig(port, path.join(dir, 'data'));
    config.http = { ...(config.http as object), tls: { certificate: cert.certFile, key: cert.keyFile } };
    writeFileSync(path.join(dir, 'config.yml'), YAML.stringify(config));
    registry = await startProcess({ name: 'readyz-tls-registry', command: 'docker-registry', args: ['serve', path.join(dir, 'config.yml')], dir, ready: () => portOpen(port) });
    url = `https://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await registry?.stop();
  });

  async function readyz(internalRegistry: Record<string, unknown>): Promise<{ status: number; body: { status: string; failing?: string[]; dependencies: Record<string, string> } }> {
    const app = await startTestApp({ worker: false, config: { internalRegistry } });
    apps.push(app);
    const res = await fetch(`${app.url}/readyz`);
    return { status: res.status, body: await res.json() as { status: string; failing?: string[]; dependencies: Record<string, string> } };
  }

  it('is ready when internalRegistry.caFile names the CA', async () => {
    const res = await readyz({ url, caFile: cert.caFile });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ready', dependencies: { redis: 'ok', internalRegistry: 'ok' } });
  });

  it('is not ready, naming the registry, when the CA is not configured', async () => {
    const res = await readyz({ url });
    expect(res.status).toBe(503);
    expect(res.body.failing).toEqual(['internalRegistry']);
    expect(res.body.dependencies).toEqual({ redis: 'ok', internalRegistry: 'unavailable' });
  });
});
