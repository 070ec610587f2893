/**
 * Retention on real services (issue 9 item 7): a rejected request's quarantine manifest goes
 * after `retention.quarantineDays`, but not while another live request stages the same digest
 * in the same repository; request records of ended requests go after `retention.requestDays`;
 * approved requests and their images are never touched; every deletion is audited.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

const DAY = 24 * 3600 * 1000;

describe('retention', () => {
  const svc = services();
  const hostPath = svc.upstream.host.replace(':', '_');
  let app: TestApp;
  let repo: string;
  let img: BuiltImage;
  let keptRepo: string;
  let kept: BuiltImage;

  beforeAll(async () => {
    app = await startTestApp({ config: { retention: { quarantineDays: 30, requestDays: 365 } } });
    repo = uniqueName('retained');
    img = await buildImage({ layers: [{ files: { 'r.txt': `${repo}\n` } }] });
    await pushImage(svc.upstream.url, repo, '1.0', img);
    keptRepo = uniqueName('approved-stays');
    kept = await buildImage({ layers: [{ files: { 'k.txt': `${keptRepo}\n` } }] });
    await pushImage(svc.upstream.url, keptRepo, '1.0', kept);
  });
  afterAll(async () => { await app.stop(); });

  const quarantined = async (r: string, digest: string) =>
    (await fetch(`${svc.internal.url}/v2/quarantine/${hostPath}/${r}/manifests/${digest}`, { method: 'HEAD', headers: { accept: img.mediaType } })).status;

  async function awaitingFor(team: 'payments' | 'logistics', image: string): Promise<string> {
    const who = team === 'payments' ? 'dev' : 'otherDev';
    const created = await app.call(who, 'POST', '/v1/requests', { image, team, justification: 'retention' });
    expect(created.status).toBe(202);
    expect((await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
    return created.body.id;
  }

  it('keeps a quarantine manifest another live request needs, deletes it once none does, then expires the records; approved stays', async () => {
    const image = `${svc.upstream.host}/${repo}:1.0`;
    const first = await awaitingFor('payments', image);
    expect((await app.call('approver', 'POST', `/v1/requests/${first}/reject`, { reason: 'not needed' })).status).toBe(200);
    // Another team asks for the same digest: it stages into the same quarantine repository.
    const second = await awaitingFor('logistics', image);
    const approvedId = await awaitingFor('payments', `${svc.upstream.host}/${keptRepo}:1.0`);
    await app.call('approver', 'POST', `/v1/requests/${approvedId}/approve`, {});
    await app.waitForStatus(approvedId, ['approved']);

    const retention = app.services.retention;
    // Not yet 30 days: nothing.
    expect(await retention.run(new Date(Date.now() + 29 * DAY))).toEqual({ purged: [], kept: [], expired: [] });
    let out = await retention.run(new Date(Date.now() + 31 * DAY));
    expect(out).toEqual({ purged: [], kept: [first], expired: [] });
    expect(await quarantined(repo, img.digest)).toBe(200);

    expect((await app.call('admin', 'POST', `/v1/requests/${second}/reject`, { reason: 'neither' })).status).toBe(200);
    out = await retention.run(new Date(Date.now() + 31 * DAY));
    expect(out.purged.sort()).toEqual([first, second].sort());
    expect(await quarantined(repo, img.digest)).toBe(404);
    expect((await app.call('auditor', 'GET', `/v1/requests/${first}`)).body.quarantinePurgedAt).toEqual(expect.any(String));

    out = await retention.run(new Date(Date.now() + 366 * DAY));
    expect(out.expired.sort()).toEqual([first, second].sort());
    expect((await app.call('auditor', 'GET', `/v1/requests/${first}`)).status).toBe(404);
    // The approved request and its image stay.
    expect((await app.call('auditor', 'GET', `/v1/requests/${approvedId}`)).body.status).toBe('approved');
    expect((await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/${keptRepo}:1.0`)}&team=payments`)).status).toBe(200);
    expect(await quarantined(keptRepo, kept.digest)).toBe(200);

    const log = (await app.call('auditor', 'GET', '/v1/audit?limit=1000')).body.items as Array<{ action: string; target: string }>;
    const about = (id: string) => log.filter((e) => e.target === `request/${id}`).map((e) => e.action);
    expect(about(first)).toEqual(expect.arrayContaining(['request.quarantine_purged', 'request.expired']));
    expect(about(approvedId)).not.toContain('request.expired');
    // Indexes went with the records: listing the ended states finds neither.
    const listed = (await app.call('auditor', 'GET', '/v1/requests?status=rejected&limit=200')).body.items.map((r: { id: string }) => r.id);
    expect(listed).not.toContain(first);
  });
});
