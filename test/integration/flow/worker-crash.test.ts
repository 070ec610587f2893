/**
 * Crash safety: a worker process killed (SIGKILL) while it stages an image leaves the
 * request resumable; a new worker process picks the stalled job up and completes it.
 *
 * Staging is held open deterministically: the upstream is reached through a gate that
 * answers the layer's blob GET only once the test opens it. (This test used to rely on an
 * nginx `limit_rate`, which nginx ignores when `proxy_buffering` is off, as it is in the
 * harness proxy: the copy took ~70 ms and the kill only sometimes landed inside it.)
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { startGate, type Gate } from '../../harness/gate';
import { buildImage, pushImage, randomFile } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { startWorkerProcess, type TsProcess } from '../../harness/worker-process';

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
