import { buildImage, pushImage } from '../../harness/images';
import { startTestApp, type TestApp } from '../../harness/app';
import { services, uniqueName } from '../../harness/services';

describe('smoke', () => {
  let app: TestApp;
  beforeAll(async () => { app = await startTestApp(); });
  afterAll(async () => { await app.stop(); });

  it('goes to awaiting approval', async () => {
    const svc = services();
    const repo = uniqueName('smoke');
    const img = await buildImage({ layers: [{ files: { 'a.txt': 'a' } }] });
    await pushImage(svc.upstream.url, repo, 'v1', img);
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:v1`, team: 'payments', justification: 'x' });
    expect(created.status).toBe(202);
    const r = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
    expect(r).toMatchObject({ status: 'awaiting_approval' });
    const ok = await app.call('approver', 'POST', `/v1/requests/${r.id}/approve`, { comment: 'ok' });
    expect(ok.status).toBe(202);
    const done = await app.waitForStatus(r.id, ['approved', 'failed']);
    expect(done).toMatchObject({ status: 'approved' });
  });
});
