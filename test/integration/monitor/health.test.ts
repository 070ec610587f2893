/**
 * Approval health on real services (redis, both registries, nginx, the real builtin scanner):
 * an image approved against an OSV folder without the advisory that matches it; then new
 * vulnerability data gives it a critical, fixable finding (stored where findings live, and
 * `findings.updated` published, as the inventory's re-match does). At once the approval is
 * `at_risk` (inventory field and filter, audit entry, a verified webhook naming the advisory,
 * the gauges). Past its deadline (a moved clock, no sleeps) it waits in the approvers' queue,
 * or with `autoRevoke` is revoked: CI's lookup answers NOT_APPROVED with reason REVOKED, and the
 * internal registry still serves the approved image (a restarting workload pulls it) until an
 * admin revokes the digest, which deletes it.
 */
import { ADVISORY, ADVISORY_ALIAS, buildVulnerableImage } from '../flow/scan-fixtures';
import { startTestApp, type TestApp } from '../../harness/app';
import { pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { approveImage, movableClock, newFindings, osvFolders, receiver, scanner, until, type Receiver } from './fixtures';

const svc = services();
const MINUTE = 60_000;
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

/** What the internal registry answers a HEAD of `internalRef` (`host/repository@digest`). */
async function manifestStatus(internalRef: string): Promise<number> {
  const [name, digest] = internalRef.split('@') as [string, string];
  const repository = name.slice(name.indexOf('/') + 1);
  return (await fetch(`${svc.internal.url}/v2/${repository}/manifests/${digest}`, { method: 'HEAD', headers: { accept: MANIFEST_TYPES.join(', ') } })).status;
}

async function startApp(hook: Receiver, clean: string, clock: ReturnType<typeof movableClock>, autoRevoke: boolean): Promise<TestApp> {
  const env = `PORTCULLIS_TEST_MONITOR_SECRET_${autoRevoke ? 'A' : 'B'}`;
  process.env[env] = hook.secret;
  return startTestApp({
    scanners: [await scanner(clean)],
    monitorClock: clock.now,
    config: {
      // With autoRevoke, a day's grace for critical findings, to check nothing happens before it ends.
      monitor: autoRevoke ? { autoRevoke, grace: { critical: '1d' } } : { autoRevoke },
      notifications: { retryBaseMs: 50, webhooks: [{ name: 'secops', url: hook.url, events: ['approval.*', 'waiver.*'], secretEnv: env }] },
    },
  });
}

describe('approval health', () => {
  let img: BuiltImage;
  let osv: { clean: string; full: string };

  beforeAll(async () => {
    img = await buildVulnerableImage();
    osv = osvFolders();
  });

  describe('autoRevoke off', () => {
    let app: TestApp;
    let hook: Receiver;
    const clock = movableClock();
    beforeAll(async () => {
      hook = await receiver();
      app = await startApp(hook, osv.clean, clock, false);
    });
    afterAll(async () => {
      await app.stop();
      hook.server.closeAllConnections();
      hook.server.close();
    });

    it('turns at_risk at once when new data gives it a blocking finding, then waits for a re-review past its deadline', async () => {
      // The worker scheduled the monitor's jobs (one scheduler entry each, shared by all workers).
      const schedules = await until('the monitor schedules', async () => {
        const all = await app.services.cleanup.queue.getJobSchedulers();
        return all.length >= 4 ? all : undefined;
      });
      expect(Object.fromEntries(schedules.filter((j) => j.key !== 'retention').map((j) => [j.key, j.every]))).toEqual({
        'health-sweep': 15 * MINUTE, drift: 30 * MINUTE, snapshots: 60 * MINUTE,
      });
      const repo = uniqueName('health');
      await pushImage(svc.upstream.url, repo, '1.0', img);
      const image = `${svc.upstream.host}/${repo}`;
      const { id, digest } = await approveImage(app, `${image}:1.0`);
      const inventory = async (q = '') => (await app.call('ci', 'GET', `/v1/approved?team=payments${q}`)).body.items as Array<{ digest: string; health: any }>;
      // Evaluated when approved (the subscriber of the approval's status change): ok, with no finding blocking.
      const first = await until('the first evaluation', async () => (await inventory()).find((i) => i.digest === digest && i.health.evaluatedAt));
      expect(first.health).toMatchObject({ state: 'ok', maxSeverity: 'low', blocking: [], diff: { addedTotal: 0, removedTotal: 0 } });

      await newFindings(app, 'payments', image, digest, osv.full);
      // Published and awaited: no wait needed.
      const risky = (await inventory()).find((i) => i.digest === digest);
      expect(risky?.health).toMatchObject({ state: 'at_risk', maxSeverity: 'critical', deadline: clock.now().toISOString() });
      expect(risky?.health.blocking).toEqual([expect.objectContaining({ id: ADVISORY, severity: 'critical', cause: 'new', package: expect.stringContaining('libgate') })]);
      expect(risky?.health.diff).toMatchObject({ addedTotal: 1, removedTotal: 0, added: [expect.objectContaining({ id: ADVISORY })] });
      expect((await inventory('&health=at_risk')).map((i) => i.digest)).toEqual([digest]);
      expect((await inventory('&health=ok')).map((i) => i.digest)).not.toContain(digest);
      expect((await app.call('ci', 'GET', '/v1/approved?team=payments&health=sick')).status).toBe(400);
      expect((await app.call('otherDev', 'GET', '/v1/approved?team=payments&health=at_risk')).status).toBe(404);

      // Still approved for CI while at risk.
      expect((await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}:1.0`)}`)).status).toBe(200);

      const event = await until('the at_risk webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.at_risk'));
      expect(event).toMatchObject({ subject: digest, data: { team: 'payments', image, requestId: id, to: 'at_risk', cves: [ADVISORY, ADVISORY_ALIAS] } });
      expect(hook.bad).toBe(0);

      const audit = await app.services.audit.list(0, 1000);
      expect(audit.filter((e) => e.action === 'approval.at_risk' && e.target === `approval/payments/${digest}`)).toHaveLength(1);

      const { body } = await app.services.metrics.exposition();
      expect(body).toMatch(/^portcullis_approvals_at_risk\{team="payments",severity="critical"\} 1$/m);
      expect(body).toMatch(/^portcullis_approved_images\{team="payments",max_severity="critical"\} 1$/m);

      // The same data again changes nothing: no second event, no second audit entry.
      await app.services.events.publish({ type: 'findings.updated', actor: 'system', target: `image/${digest}`, details: { team: 'payments', repository: image, digest, scanner: 'osv' } });
      expect((await app.services.audit.list(0, 1000)).filter((e) => e.action === 'approval.at_risk')).toHaveLength(1);

      // Critical grace is 0d: one minute later the sweep queues a re-review (autoRevoke off).
      expect((await app.call('approver', 'GET', '/v1/queue')).body.reviews).toEqual([]);
      clock.advance(MINUTE);
      const swept = await app.services.monitor.sweep.run();
      expect(swept.reviews).toEqual([`payments|${image}|${digest}`]);
      expect(swept.revoked).toEqual([]);
      const queue = await app.call('approver', 'GET', '/v1/queue');
      expect(queue.body.reviews).toEqual([expect.objectContaining({ kind: 're_review', team: 'payments', image, digest, requestId: id, state: 'at_risk' })]);
      expect(queue.body.reviews[0].blocking[0].id).toBe(ADVISORY);
      expect((await app.call('devApprover', 'GET', '/v1/queue')).body.reviews).toHaveLength(1);
      // A second sweep does not queue it twice.
      expect((await app.services.monitor.sweep.run()).reviews).toEqual([]);
      await until('the review_required webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.review_required'));
      expect((await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}@${digest}`)}`)).status).toBe(200);

      // The approver keeps it for two days (a compensating control), audited; it leaves the queue.
      const keep = (who: 'dev' | 'approver', until: string) => app.call(who, 'POST', '/v1/approvals/keep', { team: 'payments', image, digest, reason: 'not reachable: the parser is unused', until });
      const inTwoDays = new Date(clock.now().getTime() + 2 * 24 * 60 * MINUTE).toISOString();
      expect((await keep('dev', inTwoDays)).status).toBe(403);
      const tooFar = await keep('approver', new Date(clock.now().getTime() + 400 * 24 * 60 * MINUTE).toISOString());
      expect(tooFar.status).toBe(400);
      expect(tooFar.body.error.message).toContain('maxDays');
      const kept = await keep('approver', inTwoDays);
      expect(kept.status).toBe(200);
      expect(kept.body.health).toMatchObject({ state: 'ok', accepted: [expect.objectContaining({ findingId: ADVISORY, expires: inTwoDays, by: 'approver' })] });
      expect((await app.call('approver', 'GET', '/v1/queue')).body.reviews).toEqual([]);
      expect((await app.services.audit.list(0, 1000)).filter((e) => e.action === 'approval.review_kept' && e.actor === 'approver')).toHaveLength(1);
      expect((await keep('approver', inTwoDays)).status).toBe(409); // ok now: nothing to keep
      await until('the ok webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.ok' && (e.data as { resolved?: string[] }).resolved?.includes(ADVISORY)));

      // When the acceptance expires the finding blocks again, its deadline counted from the expiry.
      clock.advance(3 * 24 * 60 * MINUTE);
      await app.services.monitor.sweep.run();
      const again = (await inventory()).find((i) => i.digest === digest);
      expect(again?.health).toMatchObject({ state: 'at_risk', blocking: [expect.objectContaining({ id: ADVISORY, cause: 'waiver_expired', since: inTwoDays })] });

      // Back to the data without the advisory (withdrawn upstream): ok again.
      await newFindings(app, 'payments', image, digest, osv.clean);
      expect((await inventory()).find((i) => i.digest === digest)?.health.state).toBe('ok');
      expect((await app.call('approver', 'GET', '/v1/queue')).body.reviews).toEqual([]);
    });
  });

  describe('autoRevoke on', () => {
    let app: TestApp;
    let hook: Receiver;
    const clock = movableClock();
    beforeAll(async () => {
      hook = await receiver();
      app = await startApp(hook, osv.clean, clock, true);
    });
    afterAll(async () => {
      await app.stop();
      hook.server.closeAllConnections();
      hook.server.close();
    });

    it('revokes the at-risk approval past its deadline; CI then gets NOT_APPROVED with reason REVOKED naming the advisory', async () => {
      const repo = uniqueName('revoke');
      await pushImage(svc.upstream.url, repo, '2.0', img);
      const image = `${svc.upstream.host}/${repo}`;
      const { id: requestId, digest } = await approveImage(app, `${image}:2.0`);
      const internalRef = (await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}@${digest}`)}`)).body.internalRef as string;
      expect(await manifestStatus(internalRef)).toBe(200);
      await until('the first evaluation', async () => (await app.services.monitor.health.of([{ team: 'payments', image, digest }]))[0] ?? undefined);
      await newFindings(app, 'payments', image, digest, osv.full);

      const record = (await app.services.monitor.health.of([{ team: 'payments', image, digest }]))[0];
      expect(record?.deadline).toBe(new Date(clock.now().getTime() + 24 * 60 * MINUTE).toISOString());
      // Not before the deadline: a minute short of a day, the sweep leaves it.
      clock.advance(24 * 60 * MINUTE - MINUTE);
      expect((await app.services.monitor.sweep.run()).revoked).toEqual([]);
      expect((await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}:2.0`)}`)).status).toBe(200);
      clock.advance(MINUTE);
      const swept = await app.services.monitor.sweep.run();
      expect(swept.revoked).toEqual([`payments|${image}|${digest}`]);

      for (const ref of [`${image}@${digest}`, `${image}:2.0`]) {
        const lookup = await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(ref)}`);
        expect(lookup.status).toBe(404);
        expect(lookup.body.error).toMatchObject({ code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest, revokedBy: 'system' } });
        expect(lookup.body.error.details.revocationReason).toContain(ADVISORY);
      }
      const text = await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}:2.0`)}`, undefined, { accept: 'text/plain' });
      expect(text.text).toMatch(/^error NOT_APPROVED: .*revoked by system/);
      // A new request for the digest is refused (deny-list), as for an admin's revocation.
      const again = await app.call('dev', 'POST', '/v1/requests', { image: `${image}@${digest}`, team: 'payments', justification: 'again' });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('REVOKED');

      const revoked = await until('the revoked webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.revoked'));
      expect(String(revoked.data.reason)).toContain(ADVISORY);
      const { body } = await app.services.metrics.exposition();
      expect(body).toMatch(/^portcullis_revocations_total\{reason="grace_expired"\} 1$/m);
      expect(body).not.toMatch(/^portcullis_approvals_at_risk\{team="payments",severity="critical"\} [1-9]/m);
      const after = (await app.services.monitor.health.of([{ team: 'payments', image, digest }]))[0];
      expect(after).toMatchObject({ state: 'revoked', revocation: { by: 'system' } });

      // The internal image stays: no unpublish job waits (the maintenance worker ran any that was
      // queued), and the registry still serves the manifest by digest.
      await until('no unpublish job pending', async () => {
        const pending = await app.services.cleanup.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
        return pending.every((j) => j.name !== 'unpublish') || undefined;
      });
      expect(await manifestStatus(internalRef)).toBe(200);
      const autoAudit = (await app.services.audit.list(0, 1000)).find((e) => e.action === 'approval.revoked' && e.target === `approval/payments/${digest}`);
      expect(autoAudit?.details).toMatchObject({ imageKept: true, keptImages: [internalRef] });
      const story = (await app.call('approver', 'GET', `/v1/requests/${requestId}`)).body;
      expect(story.history.at(-1)).toMatchObject({ status: 'revoked', by: 'system', note: expect.stringContaining('internal image is kept') });

      // An unrevoke lifts the deny entry and leaves the kept image recorded (it was the only record
      // of it): the image stays, and an admin's revoke can still delete it.
      const lifted = await app.call('admin', 'POST', '/v1/approvals/unrevoke', { digest, team: 'payments', image, reason: 'lift it' });
      expect(lifted.status).toBe(200);
      const unrevoked = await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}@${digest}`)}`);
      expect(unrevoked.status).toBe(404);
      expect(unrevoked.body.error?.details?.revokedBy).toBeUndefined();
      expect(await manifestStatus(internalRef)).toBe(200);

      // An admin's revoke of the digest deletes the kept image; CI's answer is REVOKED again.
      const manual = await app.call('admin', 'POST', '/v1/approvals/revoke', { image: `${image}@${digest}`, team: 'payments', reason: 'delete it' });
      expect(manual.status).toBe(200);
      expect(manual.body.revoked).toEqual([{ team: 'payments', digest, image, internalRef }]);
      await until('the kept image deleted', async () => (await manifestStatus(internalRef)) === 404 || undefined);
      // It revoked no approval (the automatic revocation did, counted once): not counted again.
      const counted = (await app.services.metrics.exposition()).body;
      expect(counted).toMatch(/^portcullis_revocations_total\{reason="grace_expired"\} 1$/m);
      expect(counted).not.toMatch(/^portcullis_revocations_total\{reason="manual"\} [1-9]/m);
      const lookup = await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}@${digest}`)}`);
      expect(lookup.body.error).toMatchObject({ code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest, revokedBy: 'admin' } });
      const manualAudit = (await app.services.audit.list(0, 1000)).filter((e) => e.action === 'approval.revoked' && e.actor === 'admin' && e.target === `approval/payments/${digest}`);
      expect(manualAudit).toEqual([expect.objectContaining({ details: expect.objectContaining({ deletesKeptImages: [internalRef], deletesKeptImagesOnly: true }) })]);
      // Nothing is left to revoke.
      expect((await app.call('admin', 'POST', '/v1/approvals/revoke', { image: `${image}@${digest}`, team: 'payments', reason: 'again' })).status).toBe(404);
    });
  });
});
