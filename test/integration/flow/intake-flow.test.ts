/**
 * The issue's "Done when" flow on real services: redis, the internal and upstream registries,
 * nginx in front of the upstream, skopeo to look at the result from outside.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { runCli } from '../../harness/worker-process';

const run = promisify(execFile);

/** The digest the registry serves for `repo:ref`, as skopeo (not our client) sees it. */
async function skopeoDigest(host: string, repo: string, ref: string): Promise<string> {
  const sep = ref.startsWith('sha256:') ? '@' : ':';
  const { stdout } = await run('skopeo', ['inspect', '--no-tags', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${host}/${repo}${sep}${ref}`]);
  return stdout.trim();
}

describe('intake flow on real services', () => {
  const svc = services();
  const hostPath = svc.upstream.host.replace(':', '_');
  let app: TestApp;
  let repo: string;
  let img: BuiltImage;
  let id: string;

  beforeAll(async () => {
    app = await startTestApp();
    repo = uniqueName('flow');
    img = await buildImage({ layers: [{ files: { 'etc/app.conf': 'ok\n' } }] });
    await pushImage(svc.upstream.url, repo, '1.0', img);
  });
  afterAll(async () => { await app.stop(); });

  it('takes a request through nginx to awaiting_approval, pinned to the upstream digest', async () => {
    const created = await app.call('devApprover', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'needed for the demo' });
    expect(created.status).toBe(202);
    id = created.body.id;
    const r = await app.waitForStatus(id, ['awaiting_approval', 'failed']);
    expect(r.status).toBe('awaiting_approval');
    expect(r.source).toEqual({ registry: svc.upstream.host, repository: repo, tag: '1.0', digest: img.digest });
    expect(r.history.map((h: { status: string }) => h.status)).toEqual(['requested', 'resolving', 'staging', 'scanning', 'awaiting_approval']);
    expect(readFileSync(svc.proxy.accessLog, 'utf8')).toContain(`/v2/${repo}/manifests/1.0`);
    // Quarantine holds it by digest only: no tag a cluster could pull.
    expect(await skopeoDigest(svc.internal.host, `quarantine/${hostPath}/${repo}`, img.digest)).toBe(img.digest);
    const tags = await fetch(`${svc.internal.url}/v2/quarantine/${hostPath}/${repo}/tags/list`);
    const body = await tags.json() as { tags?: string[] | null };
    expect(tags.status === 404 ? [] : body.tags ?? []).toEqual([]);
  });

  it('isolates teams and enforces roles and four-eyes', async () => {
    expect((await app.call('otherDev', 'GET', `/v1/requests/${id}`)).status).toBe(404);
    expect((await app.call('otherDev', 'POST', `/v1/requests/${id}/approve`, {})).status).toBe(403);
    const own = await app.call('devApprover', 'POST', `/v1/requests/${id}/approve`, { comment: 'mine' });
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('FOUR_EYES');
    const ci = await app.call('ci', 'POST', `/v1/requests/${id}/approve`, {});
    expect(ci.status).toBe(403);
    expect(ci.body.error.code).toBe('FORBIDDEN');
    expect((await app.call(null, 'GET', `/v1/requests/${id}`)).headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('promotes on approval: the internal registry serves the same digest at the approved path', async () => {
    const approved = await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'looks fine' });
    expect(approved.status).toBe(202);
    const r = await app.waitForStatus(id, ['approved', 'failed']);
    expect(r.status).toBe('approved');
    const approvedRepo = `approved/payments/${hostPath}/${repo}`;
    expect(r.internalRef).toBe(`${svc.internal.host}/${approvedRepo}@${img.digest}`);
    expect(await skopeoDigest(svc.internal.host, approvedRepo, '1.0')).toBe(img.digest);
    expect((await app.call('approver', 'POST', `/v1/requests/${id}/approve`, {})).status).toBe(409);
  });

  it("answers the ci token's lookups in JSON and in text; another team gets NOT_APPROVED", async () => {
    const q = `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/${repo}:1.0`)}&team=payments`;
    const json = await app.call('ci', 'GET', q);
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ digest: img.digest, team: 'payments', approvedBy: ['approver'], internalRef: `${svc.internal.host}/approved/payments/${hostPath}/${repo}@${img.digest}` });
    const text = await app.call('ci', 'GET', q, undefined, { accept: 'text/plain' });
    expect(text.text).toBe(`${json.body.internalRef}\n`);
    const byDigest = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/${repo}@${img.digest}`)}&team=payments`);
    expect(byDigest.body.internalRef).toBe(json.body.internalRef);
    const other = await app.call('otherDev', 'GET', q.replace('team=payments', 'team=logistics'));
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('NOT_APPROVED');
    const many = await app.call('ci', 'POST', '/v1/approved/resolve', { team: 'payments', images: [`${svc.upstream.host}/${repo}:1.0`, `${svc.upstream.host}/${repo}:nope`] });
    expect(many.body.results).toEqual([
      { image: `${svc.upstream.host}/${repo}:1.0`, internalRef: json.body.internalRef },
      { image: `${svc.upstream.host}/${repo}:nope`, error: expect.objectContaining({ code: 'NOT_APPROVED' }) },
    ]);
  });

  it('returns an already approved digest at once', async () => {
    const again = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${img.digest}`, team: 'payments', justification: 'again' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'approved', internalRef: expect.stringContaining(img.digest) });
  });

  it('never lets a rejected request reach the approved path', async () => {
    const repo2 = uniqueName('rejected');
    const img2 = await buildImage({ layers: [{ files: { bad: 'x' } }] });
    await pushImage(svc.upstream.url, repo2, 'latest', img2);
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo2}`, team: 'payments', justification: 'try' });
    await app.waitForStatus(created.body.id, ['awaiting_approval']);
    const rejected = await app.call('approver', 'POST', `/v1/requests/${created.body.id}/reject`, { reason: 'not needed' });
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('rejected');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, {})).status).toBe(409);
    const res = await fetch(`${svc.internal.url}/v2/approved/payments/${hostPath}/${repo2}/manifests/${img2.digest}`, { method: 'HEAD' });
    expect(res.status).toBe(404);
  });

  it('refuses a request for a registry not in upstreams at once: 400 UPSTREAM_NOT_ALLOWED naming the allowed ones', async () => {
    const created = await app.call('dev', 'POST', '/v1/requests', { image: 'ghcr.io/someone/tool:1', team: 'payments', justification: 'x' });
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ code: 'UPSTREAM_NOT_ALLOWED', details: { registry: 'ghcr.io', allowed: [svc.upstream.host] } });
  });

  it('revokes: the internal image is deleted and the lookup stops answering', async () => {
    const revoked = await app.call('admin', 'POST', '/v1/approvals/revoke', { digest: img.digest, team: 'payments', reason: 'CVE found' });
    expect(revoked.status).toBe(200);
    expect((await app.call('approver', 'POST', '/v1/approvals/revoke', { digest: img.digest, team: 'payments', reason: 'x' })).status).toBe(403);
    const q = `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/${repo}:1.0`)}&team=payments`;
    expect((await app.call('ci', 'GET', q)).status).toBe(404);
    // The ledger answered at once; the registry delete is a queued job.
    let status = 0;
    for (let i = 0; i < 300 && status !== 404; i++) {
      status = (await fetch(`${svc.internal.url}/v2/approved/payments/${hostPath}/${repo}/manifests/1.0`, { method: 'HEAD' })).status;
      if (status !== 404) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(404);
    expect((await app.call('auditor', 'GET', `/v1/requests/${id}`)).body.status).toBe('revoked');
  });

  it('audit: the log records the flow; verify passes, then fails after one entry is altered in Redis', async () => {
    const log = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    const actions = (log.body.items as Array<{ action: string; target: string }>).filter((e) => e.target === `request/${id}`).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['request.created', 'request.status_changed', 'request.approved']));
    expect((await app.call('dev', 'GET', '/v1/audit')).status).toBe(403);

    const ok = await runCli(['audit', 'verify'], app.configFile);
    expect(ok.output).toContain('intact');
    expect(ok.code).toBe(0);

    const stream = `${app.config.redis.prefix}:audit`;
    const rows = await app.redis.xrange(stream, '-', '+');
    await app.redis.del(stream);
    for (const [entryId, fields] of rows) {
      const entry = JSON.parse(fields[1]) as Record<string, unknown>;
      await app.redis.xadd(stream, entryId, 'entry', JSON.stringify(entryId === '3-1' ? { ...entry, actor: 'mallory' } : entry));
    }
    const broken = await runCli(['audit', 'verify'], app.configFile);
    expect(broken.code).toBe(1);
    expect(broken.output).toContain('seq 3');
  });
});
