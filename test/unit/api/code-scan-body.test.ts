/**
 * A code-scan upload that is not JSON is answered 400 INVALID_SARIF saying where it breaks;
 * a hostile one (deep nesting, sent gzipped) gets the same short answer, not one as large as
 * its path (it once answered 18 MiB of `[` with a 100 MiB error).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express from 'express';
import { jsonBodies } from '../../../src/api/middleware/body';
import { errorHandler } from '../../../src/api/middleware/errors';

function post(port: number, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      port, method: 'POST', path: '/v1/requests/any/code-scans',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': body.length },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('code-scan body that is not JSON', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    const app = express();
    app.use('/v1', jsonBodies({ bodyLimit: '1mb', codeScanBodyLimit: '20mb' }));
    app.use(errorHandler());
    server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  test('1 MiB of "[" then "x", gzipped: 400 INVALID_SARIF naming the depth bound, a short answer', async () => {
    const res = await post(port, gzipSync(Buffer.from(`${'['.repeat(1024 * 1024)}x`)));
    expect(res.status).toBe(400);
    expect(res.text.length).toBeLessThan(2048);
    const { error } = JSON.parse(res.text) as { error: { code: string; message: string; details: Record<string, unknown> } };
    expect(error).toMatchObject({ code: 'INVALID_SARIF', details: { line: 1, column: 129, maxDepth: 128 } });
    expect(error.message).toContain('nesting deeper than 128 levels');
  });

  test('a shallow break is still located exactly', async () => {
    const res = await post(port, gzipSync(Buffer.from('{"version": "2.1.0", "runs": [{"tool": }]}')));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toMatchObject({ error: { code: 'INVALID_SARIF', details: { path: 'runs[0].tool', line: 1, column: 40 } } });
  });
});
