/**
 * The outbound HTTP client (src/lib/http): deadlines, capped bodies, redirects not followed
 * unless asked, TLS behind a private CA (`caFile`, `insecure`), forward proxies, and errors that
 * never show a URL's credentials or query. Against real local servers.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import http, { type RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { basicAuth, HttpClient, HttpError, redactUrl } from '../../../src/lib/http';
import { makeCaSignedCert } from '../../harness/certs';
import { startConnectProxy } from '../../harness/connect-proxy';

const closers: Array<() => void> = [];
afterAll(() => { for (const c of closers) c(); });

async function serve(handler: RequestListener, tls?: { cert: Buffer; key: Buffer }): Promise<string> {
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => { server.closeAllConnections(); server.close(); });
  return `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function failure(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('outbound HTTP client', () => {
  const client = new HttpClient();
  afterAll(() => client.close());

  it('reads a body, and refuses one over the cap', async () => {
    const url = await serve((_req, res) => res.end('x'.repeat(5000)));
    expect((await client.request({ method: 'GET', url })).body.length).toBe(5000);
    expect((await failure(client.request({ method: 'GET', url, maxBodyBytes: 4096 }))).reason).toBe('too_large');
    const cut = await client.request({ method: 'GET', url, maxBodyBytes: 4096, overflow: 'truncate' });
    expect([cut.body.length, cut.truncated]).toEqual([4096, true]);
  });

  it('gives up at the deadline, also while the body trickles', async () => {
    const silent = await serve(() => { /* never answers */ });
    expect((await failure(client.request({ method: 'GET', url: silent, timeoutMs: 300 }))).reason).toBe('timeout');
    const trickle = await serve((_req, res) => { res.writeHead(200); res.write('a'); });
    expect((await failure(client.request({ method: 'GET', url: trickle, timeoutMs: 300 }))).reason).toBe('timeout');
  });

  it('does not follow a redirect unless asked', async () => {
    const target = await serve((_req, res) => res.end('there'));
    const url = await serve((_req, res) => { res.writeHead(302, { location: `${target}/x` }); res.end(); });
    expect((await client.request({ method: 'GET', url })).status).toBe(302);
    const followed = await client.request({ method: 'GET', url, followRedirects: true });
    expect([followed.status, followed.body.toString()]).toEqual([200, 'there']);
  });

  it('never shows credentials or a query in an error', async () => {
    const err = await failure(client.request({ method: 'GET', url: 'http://user:s3cret@127.0.0.1:1/p?token=t0ken' }));
    expect(err.reason).toBe('unreachable');
    expect(err.message).not.toMatch(/s3cret|t0ken|user/);
    expect(redactUrl('https://a:b@h:1/x?y=z')).toBe('https://h:1/x');
    expect(basicAuth('a', 'b')).toBe(`Basic ${Buffer.from('a:b').toString('base64')}`);
  });

  it('trusts a private CA only when configured, and reaches it through a forward proxy', async () => {
    const cert = makeCaSignedCert('http-client');
    const url = await serve((req, res) => res.end(req.headers.authorization ?? 'none'), { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) });
    expect((await failure(client.request({ method: 'GET', url }))).reason).toBe('unreachable');
    const trusting = new HttpClient({ caFile: cert.caFile });
    const proxy = await startConnectProxy();
    const proxied = new HttpClient({ caFile: cert.caFile, proxy: proxy.url });
    const insecure = new HttpClient({ insecure: true });
    try {
      expect((await trusting.request({ method: 'GET', url })).status).toBe(200);
      expect((await insecure.request({ method: 'GET', url })).status).toBe(200);
      const viaProxy = await proxied.request({ method: 'GET', url, headers: { authorization: basicAuth('u', 'p') } });
      expect(viaProxy.body.toString()).toBe(basicAuth('u', 'p'));
      expect(proxy.tunnels).toEqual([url.replace('https://', '')]);
    } finally {
      for (const c of [trusting, proxied, insecure]) c.close();
      await proxy.close();
    }
  });
});
