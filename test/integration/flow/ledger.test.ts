/**
 * The approval ledger through the API, on real registries (issue 9 items 1, 3, 4; issue 11
 * items 6, 7): two names of one digest are two approvals; a platform-selected run is its own
 * run and answers only its platform set; revocation by reference revokes one name, shows every
 * request of it revoked, and keeps the digest on the team's deny-list until an admin lifts it.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, buildIndex, pushImage, pushIndex, type BuiltImage, type BuiltIndex } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('the approval ledger', () => {
  const svc = services();
  let app: TestApp;

  beforeAll(async () => { app = await startTestApp(); });
  afterAll(async () => { await app.stop(); });

  async function approveImage(image: string, platforms?: string[]): Promise<any> {
    const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'j', ...(platforms ? { platforms } : {}) });
    expect(created.status).toBe(202);
    const waiting = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
    expect(waiting.status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, { comment: 'ok' })).status).toBe(202);
    return app.waitForStatus(created.body.id, ['approved', 'failed']);
  }
  const lookup = (image: string, extra = '') => app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(image)}&team=payments${extra}`);

  describe('one digest under two names', () => {
    let img: BuiltImage;
    let a: string;
    let b: string;
    let reqA: any;
    let reqB: any;

    beforeAll(async () => {
      a = `${svc.upstream.host}/${uniqueName('hello')}`;
      b = `${svc.upstream.host}/${uniqueName('tool')}`;
      img = await buildImage({ layers: [{ files: { 'same.txt': `${a}\n` } }] });
      await pushImage(svc.upstream.url, a.slice(a.indexOf('/') + 1), '1.0', img);
      await pushImage(svc.upstream.url, b.slice(b.indexOf('/') + 1), '2.0', img);
      reqA = await approveImage(`${a}:1.0`);
      reqB = await approveImage(`${b}:2.0`);
    });

    it('is two approvals, each answering its own name with its own tags', async () => {
      expect(reqA.status).toBe('approved');
      expect(reqB.status).toBe('approved');
      const la = await lookup(`${a}:1.0`);
      const lb = await lookup(`${b}:2.0`);
      expect([la.status, lb.status]).toEqual([200, 200]);
      expect(la.body.digest).toBe(img.digest);
      expect(lb.body.digest).toBe(img.digest);
      expect(la.body.internalRef).not.toBe(lb.body.internalRef);
      expect((await lookup(`${a}:2.0`)).status).toBe(404);
      const inventory = await app.call('ci', 'GET', '/v1/approved?team=payments&limit=200');
      const mine = (inventory.body.items as Array<{ image: string; tags: string[]; requestId: string; digest: string }>).filter((x) => x.digest === img.digest);
      expect(mine.map((x) => [x.image, x.tags, x.requestId]).sort()).toEqual([[a, ['1.0'], reqA.id], [b, ['2.0'], reqB.id]].sort());
      // Newest first.
      expect(mine[0].image).toBe(b);
    });

    it('revoking one name by reference leaves the other; its requests show revoked with the reason; the digest is denied until lifted', async () => {
      const revoked = await app.call('admin', 'POST', '/v1/approvals/revoke', { image: `${b}:2.0`, team: 'payments', reason: 'malware in 2.0' });
      expect(revoked.status).toBe(200);
      expect(revoked.body.revoked.map((x: { image: string }) => x.image)).toEqual([b]);
      expect((await lookup(`${b}:2.0`)).status).toBe(404);
      expect((await lookup(`${a}:1.0`)).body.internalRef).toContain('@sha256:');
      const rb = (await app.call('auditor', 'GET', `/v1/requests/${reqB.id}`)).body;
      expect(rb).toMatchObject({ status: 'revoked', internalRef: null, revocation: { by: 'admin', reason: 'malware in 2.0' } });
      expect((await app.call('auditor', 'GET', `/v1/requests/${reqA.id}`)).body.status).toBe('approved');

      // Asked again by digest: refused at once, saying who, when and why.
      const again = await app.call('dev', 'POST', '/v1/requests', { image: `${b}@${img.digest}`, team: 'payments', justification: 'again' });
      expect(again.status).toBe(409);
      expect(again.body.error).toMatchObject({ code: 'REVOKED', details: { revokedBy: 'admin', reason: 'malware in 2.0', digest: img.digest } });
      // By tag: the digest is known once resolved; the request fails with REVOKED.
      const byTag = await app.call('dev', 'POST', '/v1/requests', { image: `${b}:2.0`, team: 'payments', justification: 'again' });
      expect(byTag.status).toBe(202);
      const failed = await app.waitForStatus(byTag.body.id, ['failed', 'awaiting_approval']);
      expect(failed.error).toMatchObject({ code: 'REVOKED' });
      expect(failed.error.message).toContain('malware in 2.0');
      // The other name is not denied.
      const other = await app.call('dev', 'POST', '/v1/requests', { image: `${a}@${img.digest}`, team: 'payments', justification: 'other name' });
      expect(other.status).toBe(200);

      expect((await app.call('approver', 'POST', '/v1/approvals/unrevoke', { digest: img.digest, image: b, team: 'payments', reason: 'false positive' })).status).toBe(403);
      const lifted = await app.call('admin', 'POST', '/v1/approvals/unrevoke', { digest: img.digest, image: b, team: 'payments', reason: 'false positive' });
      expect(lifted.status).toBe(200);
      expect(lifted.body).toMatchObject({ by: 'admin', reason: 'malware in 2.0' });
      const afterLift = await app.call('dev', 'POST', '/v1/requests', { image: `${b}@${img.digest}`, team: 'payments', justification: 'cleared' });
      expect(afterLift.status).toBe(202);
      expect((await app.call('admin', 'POST', '/v1/approvals/unrevoke', { digest: img.digest, image: b, team: 'payments', reason: 'twice' })).status).toBe(404);
    });

    it('records revoke and unrevoke in the audit log, each exactly once', async () => {
      const log = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
      const actions = log.body.items as Array<{ action: string; details: Record<string, unknown> }>;
      expect(actions.filter((x) => x.action === 'approval.revoked').map((x) => x.details.reason)).toEqual(['malware in 2.0']);
      expect(actions.filter((x) => x.action === 'approval.unrevoked').map((x) => x.details.reason)).toEqual(['false positive']);
    });
  });

  describe('platform sets', () => {
    let repo: string;
    let idx: BuiltIndex;

    beforeAll(async () => {
      repo = uniqueName('multi');
      const amd = await buildImage({ layers: [{ files: { 'arch.txt': `amd64 ${repo}` } }], architecture: 'amd64' });
      const arm = await buildImage({ layers: [{ files: { 'arch.txt': `arm64 ${repo}` } }], architecture: 'arm64' });
      idx = buildIndex([amd, arm]);
      await pushIndex(svc.upstream.url, repo, '3.0', idx);
    });

    it('a linux/arm64 request and a whole-image request are two runs; each lookup answers only its own set', async () => {
      const image = `${svc.upstream.host}/${repo}:3.0`;
      const [arm, whole] = await Promise.all([
        app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'arm', platforms: ['linux/arm64'] }),
        app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'all' }),
      ]);
      expect([arm.status, whole.status]).toEqual([202, 202]);
      expect(arm.body.id).not.toBe(whole.body.id);
      for (const id of [arm.body.id, whole.body.id]) {
        expect((await app.waitForStatus(id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
      }
      expect((await app.call('approver', 'POST', `/v1/requests/${arm.body.id}/approve`, {})).status).toBe(202);
      expect((await app.waitForStatus(arm.body.id, ['approved', 'failed'])).status).toBe('approved');
      // Only the arm64 child is approved: a whole-image lookup must not answer it.
      expect((await lookup(image)).status).toBe(404);
      expect((await lookup(image, '&platform=linux/arm64')).body.digest).toBe(idx.images[1].digest);
      expect((await lookup(image, '&platform=linux/amd64')).status).toBe(404);
      expect((await app.call('approver', 'POST', `/v1/requests/${whole.body.id}/approve`, {})).status).toBe(202);
      expect((await app.waitForStatus(whole.body.id, ['approved', 'failed'])).status).toBe('approved');
      expect((await lookup(image)).body.digest).toBe(idx.digest);
      expect((await lookup(image, '&platform=linux/arm64')).body.digest).toBe(idx.images[1].digest);
      expect((await lookup(image, '&platform=linux/arm64,linux/amd64')).status).toBe(404);
    });

    it('a platform the image lacks fails with PLATFORM_NOT_FOUND, also next to one it has', async () => {
      for (const platforms of [['linux/ppc64le'], ['linux/arm64', 'linux/s390x']]) {
        const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:3.0`, team: 'payments', justification: 'j', platforms });
        expect(created.status).toBe(202);
        const r = await app.waitForStatus(created.body.id, ['failed', 'awaiting_approval']);
        expect(r.error?.code).toBe('PLATFORM_NOT_FOUND');
      }
    });
  });

  it('answers a text/plain client with text errors and a failing status (curl -f exits non-zero)', async () => {
    const res = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/never:1`)}&team=payments`, undefined, { accept: 'text/plain' });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^error NOT_APPROVED: /);
    const bad = await app.call('ci', 'GET', '/v1/approved?team=payments&platform=nonsense', undefined, { accept: 'text/plain' });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/^error INVALID_REQUEST: /);
    // JSON clients keep JSON errors.
    expect((await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/never:1`)}&team=payments`)).body.error.code).toBe('NOT_APPROVED');
  });
});
