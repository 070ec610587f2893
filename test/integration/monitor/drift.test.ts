/**
 * Upstream drift on real services: an approved tag is moved upstream (a fixed build pushed to
 * the same tag of the real upstream registry); the drift job resolves every approved tag
 * through nginx with a manifest HEAD (the proxy's access log shows no blob read), raises
 * `approval.drift` with the old and new digests once, and with `monitor.autoRequest` files a
 * request linked to the approval it would replace; once that request is scanned it shows the
 * finding its new build fixed. The pipeline is driven step by step (no worker), so the only
 * traffic through the proxy during the drift run is the drift job's. The move is kept once in the
 * drift history (`GET /v1/drift`) with the filed request, visible to the team's readers only.
 */
import { readFileSync, statSync } from 'node:fs';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { LOW_ADVISORY, osvFolders, scanner } from './fixtures';

const svc = services();
const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const dpkg = (version: string) => `Package: libgate2\nStatus: install ok installed\nArchitecture: amd64\nSource: libgate\nVersion: ${version}\nDescription: frame gateway library\n`;
const build = (version: string) => buildImage({ layers: [{ files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': dpkg(version) } }], config: { User: '1000:1000' } });

/** Access-log lines of the proxy written since `from` (bytes). */
function logSince(from: number): string[] {
  return readFileSync(svc.proxy.accessLog).subarray(from).toString('utf8').split('\n').filter(Boolean);
}

describe('upstream drift', () => {
  let app: TestApp;
  beforeAll(async () => {
    const osv = osvFolders();
    app = await startTestApp({ worker: false, scanners: [await scanner(osv.clean)], config: { monitor: { autoRequest: true } } });
  });
  afterAll(async () => { await app.stop(); });

  async function through(id: string, steps: Array<'resolve' | 'stage' | 'scan' | 'promote'>): Promise<void> {
    for (const step of steps) await app.services.pipeline.run(step, id);
  }

  it('raises approval.drift once with both digests, files a linked request and shows what it fixed; no blob is read', async () => {
    const repo = uniqueName('drift');
    const image = `${svc.upstream.host}/${repo}`;
    await pushImage(svc.upstream.url, repo, '1.0', await build('2.4.1-3'));
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${image}:1.0`, team: 'payments', justification: 'drift' });
    const id = created.body.id as string;
    await through(id, ['resolve', 'stage', 'scan']);
    expect((await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'ok' })).status).toBe(202);
    await through(id, ['promote']);
    const approved = (await app.call('auditor', 'GET', `/v1/requests/${id}`)).body;
    expect(approved.status).toBe('approved');
    const oldDigest = approved.source.digest as string;
    expect(approved.scans[0].findings.map((f: { id: string }) => f.id)).toEqual([LOW_ADVISORY]);

    // Unchanged upstream: nothing.
    expect(await app.services.monitor.drift.run()).toEqual([]);

    const fixed = await build('2.4.2-1');
    await pushImage(svc.upstream.url, repo, '1.0', fixed);
    const logStart = statSync(svc.proxy.accessLog).size;
    const found = await app.services.monitor.drift.run();
    const newDigest = fixed.digest;
    expect(found).toEqual([expect.objectContaining({ team: 'payments', image, tag: '1.0', fromDigest: oldDigest, toDigest: newDigest, requestId: expect.any(String) })]);
    const lines = logSince(logStart).filter((l) => l.includes(`/v2/${repo}/`));
    expect(lines).toContain(`HEAD /v2/${repo}/manifests/1.0 200 0`);
    expect(lines.filter((l) => l.includes('/blobs/'))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('GET '))).toEqual([]);

    const audit = (await app.services.audit.list(0, 1000)).filter((e) => e.action === 'approval.drift');
    expect(audit).toEqual([expect.objectContaining({ target: `approval/payments/${approved.stagedDigest}`, details: expect.objectContaining({ fromDigest: oldDigest, toDigest: newDigest, tag: '1.0' }) })]);
    // Once per new upstream digest, however many runs see it.
    expect(await app.services.monitor.drift.run()).toEqual([]);

    // Kept in the drift history, once, with the filed request; readable with team isolation.
    const history = await app.call('dev', 'GET', '/v1/drift');
    expect(history.status).toBe(200);
    expect(history.body.items).toEqual([expect.objectContaining({
      team: 'payments', image, tag: '1.0', fromDigest: oldDigest, toDigest: newDigest, digest: approved.stagedDigest, approvedRequestId: id, requestId: found[0].requestId,
    })]);
    expect((await app.call('otherDev', 'GET', '/v1/drift')).body.items).toEqual([]);
    expect((await app.call('otherDev', 'GET', '/v1/drift?team=payments')).status).toBe(404);
    expect((await app.call('auditor', 'GET', '/v1/drift?team=payments')).body.items).toHaveLength(1);

    const filed = found[0].requestId as string;
    const linked = (await app.call('approver', 'GET', `/v1/requests/${filed}`)).body;
    expect(linked).toMatchObject({ team: 'payments', requestedBy: 'system', image: `${image}:1.0`, replaces: { requestId: id, digest: approved.stagedDigest, tag: '1.0', fromDigest: oldDigest, toDigest: newDigest } });
    expect(linked.replaces.changes).toBeUndefined();
    await through(filed, ['resolve', 'stage', 'scan']);
    const scanned = (await app.call('approver', 'GET', `/v1/requests/${filed}`)).body;
    expect(scanned.status).toBe('awaiting_approval');
    expect(scanned.replaces.changes).toMatchObject({ fixed: [{ id: LOW_ADVISORY, severity: 'low', package: 'libgate2' }], added: [], fixedTotal: 1, addedTotal: 0 });
  });
});
