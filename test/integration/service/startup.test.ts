/**
 * Start-up wiring of the built service (`node dist/src/main.js`, built by `npm test`): every
 * configured scanner is checked before work starts, and the API serves HTTPS itself when it
 * has a certificate and key (a self-signed pair made with openssl for this test).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { makeCert } from '../../harness/certs';
import { freePort, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { startService as start } from './spawn-service';

/** GET over HTTPS trusting only `ca`. */
function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

describe('service start-up', () => {
  const svc = services();
  const base = () => ({ redis: { url: svc.redis.url, prefix: uniqueName('startup') }, internalRegistry: { url: svc.internal.url } });

  it('stops with one line naming the scanner whose check fails', async () => {
    const p = start({ ...base(), server: { port: await freePort() }, scanners: [{ name: 'osv-main', type: 'builtin', osvPath: '/nonexistent/osv' }] });
    expect(await p.exited).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: scanners\[0\] \(osv-main\): .*\/nonexistent\/osv/);
  });

  it('refuses half a TLS setup, naming the missing key', async () => {
    const cert = makeCert('half');
    const p = start({ ...base(), server: { port: await freePort(), tlsCertFile: cert.certFile }, scanners: [] });
    expect(await p.exited).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: server\.tlsKeyFile: must be set together with server\.tlsCertFile \(in .*config\.yaml over defaults\)$/);
  });

  it('serves HTTPS with the configured certificate, and checks the configured scanners first', async () => {
    const cert = makeCert('api');
    const port = await freePort();
    const p = start({
      ...base(), server: { port, tlsCertFile: cert.certFile, tlsKeyFile: cert.keyFile },
      scanners: [{ name: 'sample', type: 'builtin', osvPath: 'config/osv-sample' }],
    });
    try {
      const url = `https://127.0.0.1:${port}/healthz`;
      const ca = readFileSync(cert.certFile);
      await waitFor(async () => (await httpsGet(url, ca)).status === 200, 'https healthz', 20000);
      // Plain HTTP on the same port gets no answer a client could take for the API.
      await expect(fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status)).rejects.toThrow();
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    const logs = p.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs).toContainEqual(expect.objectContaining({ message: 'scanner ready', scanner: 'sample' }));
    expect(logs).toContainEqual(expect.objectContaining({ message: `API listening on https://127.0.0.1:${port}`, 'url.scheme': 'https' }));
  });
});
