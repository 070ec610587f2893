/**
 * Crash safety: a worker process killed (SIGKILL) while it stages an image leaves the
 * request resumable; a new worker process picks the stalled job up and completes it. The
 * upstream is reached through an nginx that throttles bytes, so that staging lasts long
 * enough to be interrupted.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, randomFile } from '../../harness/images';
import { startNginx, type NginxService } from '../../harness/nginx';
import { services, uniqueName } from '../../harness/services';
import { startWorkerProcess, type TsProcess } from '../../harness/worker-process';

describe('worker killed during staging', () => {
  const svc = services();
  let slow: NginxService;
  let app: TestApp;
  const workers: TsProcess[] = [];

  beforeAll(async () => {
    slow = await startNginx({ upstream: svc.upstream.url, name: 'slow-proxy', locationExtra: 'limit_rate 64k;' });
    app = await startTestApp({ worker: false, upstreamEndpoint: slow.url });
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await app.stop();
    await slow.stop();
  });

  it('is completed by a new worker process', async () => {
    const repo = uniqueName('crash');
    // Incompressible, and gzip level 1 keeps it that way: ~6 s through the throttled proxy.
    const img = await buildImage({ layers: [{ files: { 'blob.bin': randomFile(400 * 1024) } }] });
    await pushImage(svc.upstream.url, repo, 'v1', img);

    const first = startWorkerProcess(app.configFile);
    workers.push(first);
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:v1`, team: 'payments', justification: 'crash test' });
    await app.waitForStatus(created.body.id, ['staging']);
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await app.call('auditor', 'GET', `/v1/requests/${created.body.id}`)).body.status).toBe('staging');

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
