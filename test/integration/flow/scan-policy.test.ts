/**
 * Issue 5 end to end on real services (redis, both registries, nginx): an image with a
 * critical, fixable vulnerability in its dpkg database, scanned by the real builtin scanner
 * against the OSV fixture in test/fixtures/osv-e2e/. With `onFail: reject` it fails at the
 * scan step; with `onFail: flag` it is approved only after an approver's waiver; a second
 * request for the digest reuses the stored report until the vulnerability data changes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, type TestApp } from '../../harness/app';
import { pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import {
  ADVISORY, ADVISORY_ALIAS, buildVulnerableImage, CountingScanner, FIXED_VERSION, INSTALLED_VERSION, lowAdvisory, privateOsvDb,
} from './scan-fixtures';

const svc = services();
const hostPath = svc.upstream.host.replace(':', '_');
const inAMonth = () => new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString();

async function approvedManifestStatus(team: string, repo: string, digest: string): Promise<number> {
  const res = await fetch(`${svc.internal.url}/v2/approved/${team}/${hostPath}/${repo}/manifests/${digest}`, {
    method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
  });
  return res.status;
}

describe('scan and policy on real services', () => {
  let img: BuiltImage;
  let repo: string;
  let image: string;

  beforeAll(async () => {
    img = await buildVulnerableImage();
    repo = uniqueName('scanned');
    image = `${svc.upstream.host}/${repo}:1.0`;
    await pushImage(svc.upstream.url, repo, '1.0', img);
  });

  describe('onFail: reject', () => {
    let app: TestApp;
    beforeAll(async () => {
      const scanner = new CountingScanner('e2e', privateOsvDb());
      await scanner.check();
      app = await startTestApp({ scanners: [scanner], config: { policy: { onFail: 'reject' } } });
    });
    afterAll(async () => { await app.stop(); });

    it('fails the request at the scan step with POLICY_FAILED, and it never reaches the approved path', async () => {
      const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'e2e reject' });
      expect(created.status).toBe(202);
      const r = await app.waitForStatus(created.body.id, ['failed', 'awaiting_approval']);
      expect(r.status).toBe('failed');
      expect(r.error.code).toBe('POLICY_FAILED');
      expect(r.error.message).toContain(`critical vulnerability ${ADVISORY} in libgate2 ${INSTALLED_VERSION} (fixed in ${FIXED_VERSION})`);
      expect(r.policy).toMatchObject({ verdict: 'fail', blocking: [ADVISORY] });
      expect(r.history.map((h: { status: string }) => h.status)).toEqual(['requested', 'resolving', 'staging', 'scanning', 'failed']);
      expect(r.scans[0].findings).toEqual(expect.arrayContaining([expect.objectContaining({ id: ADVISORY, severity: 'critical', fixedVersion: FIXED_VERSION })]));

      const approve = await app.call('approver', 'POST', `/v1/requests/${r.id}/approve`, { comment: 'no' });
      expect(approve.status).toBe(409);
      expect(approve.body.error.code).toBe('INVALID_STATE');
      expect((await app.call('approver', 'GET', '/v1/queue')).body.items.map((i: { id: string }) => i.id)).not.toContain(r.id);
      expect(await approvedManifestStatus('payments', repo, img.digest)).toBe(404);
    });
  });

  describe('onFail: flag', () => {
    let app: TestApp;
    let scanner: CountingScanner;
    let osvDir: string;
    let id: string;
    let firstStartedAt: string;

    beforeAll(async () => {
      osvDir = privateOsvDb();
      scanner = new CountingScanner('e2e', osvDir);
      await scanner.check();
      app = await startTestApp({ scanners: [scanner], config: { policy: { onFail: 'flag' } } });
    });
    afterAll(async () => { await app.stop(); });

    it('queues the request flagged, with the finding, its fixed version and severity in the scans', async () => {
      // The requester also holds the approver role, so that four-eyes (not the role) refuses them below.
      const created = await app.call('devApprover', 'POST', '/v1/requests', { image, team: 'payments', justification: 'e2e flag' });
      id = created.body.id;
      const r = await app.waitForStatus(id, ['awaiting_approval', 'failed']);
      expect(r.status).toBe('awaiting_approval');
      expect(r.policy.verdict).toBe('fail');
      expect(r.policy.blocking).toEqual([ADVISORY]);
      expect(r.waivers).toEqual([]);
      expect(r.scans).toHaveLength(1);
      expect(r.scans[0]).toMatchObject({ scanner: 'e2e', status: 'succeeded', summary: { critical: 1 } });
      expect(r.scans[0].findings).toContainEqual(expect.objectContaining({
        id: ADVISORY, aliases: [ADVISORY_ALIAS], kind: 'vulnerability', package: 'libgate2', ecosystem: 'Debian:12',
        installedVersion: INSTALLED_VERSION, fixedVersion: FIXED_VERSION, severity: 'critical',
      }));
      firstStartedAt = r.scans[0].startedAt;
      expect(scanner.scans).toBe(1);
      const queued = (await app.call('approver', 'GET', '/v1/queue')).body.items.find((i: { id: string }) => i.id === id);
      expect(queued.policy).toMatchObject({ verdict: 'fail', blocking: [ADVISORY] });
      // Lists and the queue carry the summary and the count, not the findings.
      expect(queued.scans[0]).toMatchObject({ scanner: 'e2e', summary: { critical: 1 }, findingsCount: r.scans[0].findings.length });
      expect(queued.scans[0].findings).toBeUndefined();
      const listed = (await app.call('dev', 'GET', '/v1/requests?team=payments')).body.items.find((i: { id: string }) => i.id === id);
      expect(listed.scans[0].findings).toBeUndefined();
      expect(listed.scans[0].findingsCount).toBe(r.scans[0].findings.length);
    });

    it('refuses approval until waived (409 WAIVERS_REQUIRED naming the finding)', async () => {
      const res = await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'ok?' });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('WAIVERS_REQUIRED');
      expect(res.body.error.details.blocking).toEqual([ADVISORY]);
      expect(res.body.error.message).toContain(ADVISORY);
    });

    it('refuses waivers from the requester (FOUR_EYES), a developer, another team, and bad bodies', async () => {
      const body = { findingId: ADVISORY, reason: 'not reachable in our use', expires: inAMonth() };
      const own = await app.call('devApprover', 'POST', `/v1/requests/${id}/waivers`, body);
      expect(own.status).toBe(403);
      expect(own.body.error.code).toBe('FOUR_EYES');
      const dev = await app.call('dev', 'POST', `/v1/requests/${id}/waivers`, body);
      expect(dev.status).toBe(403);
      expect(dev.body.error.code).toBe('FORBIDDEN');
      expect((await app.call('otherDev', 'POST', `/v1/requests/${id}/waivers`, body)).status).toBe(403);
      const past = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, { ...body, expires: '2020-01-01' });
      expect(past.status).toBe(400);
      for (const expires of ['2027-02-30', 'Dec 31 2099', '+275760-09-13T00:00:00.000Z']) {
        const bad = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, { ...body, expires });
        expect([bad.status, bad.body.error.code, bad.body.error.message]).toEqual([400, 'INVALID_REQUEST', expect.stringContaining('ISO 8601')]);
      }
      const tooFar = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, { ...body, expires: new Date(Date.now() + 366 * 24 * 3600 * 1000).toISOString() });
      expect([tooFar.status, tooFar.body.error.message]).toEqual([400, expect.stringContaining('policy.waivers.maxDays')]);
      const unknown = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, { ...body, findingId: 'CVE-0000-0000' });
      expect(unknown.status).toBe(400);
      expect(unknown.body.error.message).toContain('not a finding of this request');
      const extra = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, { ...body, by: 'someone' });
      expect(extra.body.error.code).toBe('UNKNOWN_FIELD');
      expect((await app.call('auditor', 'GET', `/v1/requests/${id}`)).body.waivers).toEqual([]);
    });

    it("passes the verdict on an approver's waiver, then approves and promotes", async () => {
      const expires = inAMonth();
      const waived = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, { findingId: ADVISORY_ALIAS, reason: 'not reachable in our use', expires });
      expect(waived.status).toBe(201);
      expect(waived.body.policy).toMatchObject({ verdict: 'pass', blocking: [] });
      expect(waived.body.waivers).toEqual([{ findingId: ADVISORY_ALIAS, reason: 'not reachable in our use', expires, by: 'approver', at: expect.any(String) }]);
      const queued = (await app.call('approver', 'GET', '/v1/queue')).body.items.find((i: { id: string }) => i.id === id);
      expect(queued.policy.verdict).toBe('pass');

      const approved = await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'waived' });
      expect(approved.status).toBe(202);
      const r = await app.waitForStatus(id, ['approved', 'failed']);
      expect(r.status).toBe('approved');
      expect(await approvedManifestStatus('payments', repo, img.digest)).toBe(200);

      const log = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
      const entry = log.body.items.find((e: { action: string; target: string }) => e.action === 'request.waiver_granted' && e.target === `request/${id}`);
      expect(entry).toMatchObject({ actor: 'approver', details: { team: 'payments', findingId: ADVISORY_ALIAS, reason: 'not reachable in our use', expires, verdict: 'pass', digest: img.digest } });
    });

    it("reuses the stored report for another team's request of the same digest", async () => {
      const created = await app.call('otherDev', 'POST', '/v1/requests', { image, team: 'logistics', justification: 'same digest' });
      const r = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
      expect(scanner.scans).toBe(1);
      expect(r.scans[0].startedAt).toBe(firstStartedAt);
      expect(r.history.at(-1).note).toContain('stored scans reused: e2e');
      // Waivers belong to a request, not to a digest: this team's request is flagged again.
      expect(r.policy).toMatchObject({ verdict: 'fail', blocking: [ADVISORY] });
      const rejected = await app.call('admin', 'POST', `/v1/requests/${r.id}/reject`, { reason: 'ask again later' });
      expect(rejected.status).toBe(200);
    });

    it('scans the digest again once the vulnerability data changed', async () => {
      writeFileSync(path.join(osvDir, 'Debian', 'PCS-E2E-2025-0002.json'), lowAdvisory('PCS-E2E-2025-0002'));
      const created = await app.call('otherDev', 'POST', '/v1/requests', { image, team: 'logistics', justification: 'new data' });
      expect(created.status).toBe(202);
      const r = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
      expect(scanner.scans).toBe(2);
      expect(r.scans[0].startedAt).not.toBe(firstStartedAt);
      expect(r.scans[0].findings.map((f: { id: string }) => f.id).sort()).toEqual([ADVISORY, 'PCS-E2E-2025-0002']);
      expect(r.history.at(-1).note).not.toContain('reused');
    });
  });
});
