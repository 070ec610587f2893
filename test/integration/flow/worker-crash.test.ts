/**
 * Crash safety: a worker process killed (SIGKILL) while it stages an image leaves the
 * request resumable; a new worker process picks the stalled job up and completes it.
 *
 * Staging is held open deterministically: the upstream is reached through a gate that
 * answers the layer's blob GET only once the test opens it. (This test used to rely on an
 * nginx `limit_rate`, which nginx ignores when `proxy_buffering` is off, as it is in the
 * harness proxy: the copy took ~70 ms and the kill only sometimes landed inside it.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, randomFile } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { startWorkerProcess, type TsProcess } from '../../harness/worker-process';

interface Gate {
  url: string;
  /** Resolves when a GET of `blobDigest` arrived while the gate was closed. */
  held: Promise<void>;
  open(): void;
  close(): Promise<void>;
}

/** A forwarding proxy that holds GETs of one blob until opened; everything else passes. */
async function startGate(upstream: string, blobDigest: string): Promise<Gate> {
  let isOpen = false;
  let onHeld!: () => void;
  const held = new Promise<void>((resolve) => { onHeld = resolve; });
  const waiting: Array<() => void> = [];
  const server = http.createServer((req, res) => {
    const forward = () => {
      const out = http.request(new URL(req.url ?? '/', upstream), { method: req.method, headers: { ...req.headers, host: new URL(upstream).host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.destroy());
      req.pipe(out);
    };
    if (!isOpen && req.method === 'GET' && req.url?.endsWith(`/blobs/${blobDigest}`)) {
      // A killed worker's request is gone by the time the gate opens: nothing to forward.
      waiting.push(() => { if (!req.destroyed) forward(); });
      onHeld();
      return;
    }
    forward();
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    held,
    // Held requests of a killed worker go nowhere (their sockets are gone); later ones pass.
    open: () => { isOpen = true; for (const f of waiting.splice(0)) f(); },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('worker killed during staging', () => {
  const svc = services();
  let gate: Gate;
  let app: TestApp;
  const workers: TsProcess[] = [];
  const repo = uniqueName('crash');
  let img: Awaited<ReturnType<typeof buildImage>>;

  beforeAll(async () => {
    img = await buildImage({ layers: [{ files: { 'blob.bin': randomFile(400 * 1024) } }] });
    await pushImage(svc.upstream.url, repo, 'v1', img);
    gate = await startGate(svc.upstream.url, img.layers[0].digest);
    app = await startTestApp({ worker: false, upstreamEndpoint: gate.url });
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await app.stop();
    await gate.close();
  });

  it('is completed by a new worker process', async () => {
    const first = startWorkerProcess(app.configFile);
    workers.push(first);
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:v1`, team: 'payments', justification: 'crash test' });
    // The first worker is inside the copy: it asked for the layer, which the gate holds.
    await gate.held;
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await app.call('auditor', 'GET', `/v1/requests/${created.body.id}`)).body.status).toBe('staging');

    gate.open();
    const second = startWorkerProcess(app.configFile);
    workers.push(second);
    const r = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
    expect(r.status).toBe('awaiting_approval');
    expect(r.source.digest).toBe(img.digest);
    expect((await app.call('approver', 'POST', `/v1/requests/${r.id}/approve`, {})).status).toBe(202);
    const done = await app.waitForStatus(r.id, ['approved', 'failed']);
    expect(done.status).toBe('approved');
    const res = await fetch(`${svc.internal.url}/v2/approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}/manifests/v1`, { method: 'HEAD', headers: { accept: img.mediaType } });
    expect(res.headers.get('docker-content-digest')).toBe(img.digest);
  });
});
