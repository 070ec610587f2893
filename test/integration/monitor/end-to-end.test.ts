/**
 * Issue 13's monitoring scenario in one piece, on real services (redis-server, two
 * docker-registry, nginx as the reverse proxy), with the API and the worker wired as main.ts
 * wires them (in-process), the real builtin scanner and a real webhook receiver verifying every
 * delivery with the `standardwebhooks` package:
 * 1. an npm image (minimist 1.2.5) is approved against an OSV folder holding the corpus's real
 *    npm advisories except the one that matches it (GHSA-xvch-5gv4-984h, CVE-2021-44906);
 * 2. that real advisory is added to the sync source and a `vulndb-sync` job is queued as the
 *    schedule queues it: the worker syncs, re-matches the kept inventory, and within seconds the
 *    approval is `at_risk`; the receiver got `approval.at_risk` naming the CVE; the Prometheus
 *    listener shows `portcullis_approvals_at_risk`; the internal registry's and the proxy's access
 *    logs show no blob read (nor any request to the registry) since the sync was queued;
 * 3. the upstream tag moves to a fixed build: the drift run raises `approval.drift` (delivered
 *    too) and, with `monitor.autoRequest`, files a request linked to the approval, which the
 *    worker scans and shows as fixing the advisory;
 * 4. with `monitor.autoRevoke`, past the critical grace (a moved clock, no sleep) the queued
 *    health sweep revokes the approval: CI's lookup answers NOT_APPROVED with reason REVOKED,
 *    the receiver got `approval.revoked`, and the metrics count it; the internal registry still
 *    serves the approved image (a restarting workload pulls it) until an admin revokes the digest.
 * Every wait polls with a deadline; nothing asserts a duration.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startMetricsServer } from '../../../src/events';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { tempDir, type Service } from '../../harness/proc';
import { realworld } from '../../harness/realworld';
import { startRegistry, type RegistryService } from '../../harness/registry';
import { services, uniqueName } from '../../harness/services';
import { approveImage, movableClock, receiver, until, type Receiver } from './fixtures';

const svc = services();
const GHSA = 'GHSA-xvch-5gv4-984h';
const CVE = 'CVE-2021-44906';
const SCANNER = 'e2e';
const DAY = 24 * 3600_000;
const METRICS_TOKEN = 'e2e-metrics-token-0123456789';
const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const DPKG = 'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n';

/** An application image with npm's minimist and lodash at these versions. */
function appImage(minimist: string, lodash: string): Promise<BuiltImage> {
  return buildImage({
    layers: [
      { files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': DPKG } },
      { files: {
        'app/node_modules/minimist/package.json': JSON.stringify({ name: 'minimist', version: minimist }),
        'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: lodash }),
        'app/package.json': JSON.stringify({ name: 'app', version: '1.0.0' }),
      } },
    ],
    config: { User: '1000:1000' },
  });
}

/** The corpus's npm advisories without the one that matches minimist 1.2.5. */
function osvWithout(dir: string): string {
  mkdirSync(path.join(dir, 'npm'), { recursive: true });
  for (const f of readdirSync(realworld('osv', 'npm'))) {
    if (f !== `${GHSA}.json`) cpSync(realworld('osv', 'npm', f), path.join(dir, 'npm', f));
  }
  return dir;
}

/** Access-log lines of the internal registry about `repoPart` (any request), and those reading one of its blobs. */
function registryLog(registry: RegistryService, repoPart: string): { requests: number; blobReads: number } {
  const lines = readFileSync(path.join(registry.dir, 'e2e-registry.log'), 'utf8').split('\n');
  return {
    requests: lines.filter((l) => l.includes(repoPart) && /"(GET|HEAD|PUT|POST|PATCH|DELETE) \/v2\//.test(l)).length,
    blobReads: lines.filter((l) => l.includes(repoPart) && /"(GET|HEAD) \/v2\/[^"]*\/blobs\/sha256:/.test(l)).length,
  };
}

function proxyBlobReads(repoPart: string): number {
  return readFileSync(svc.proxy.accessLog, 'utf8').split('\n').filter((l) => l.includes(repoPart) && l.includes('/blobs/')).length;
}

describe('monitoring after approval, end to end', () => {
  let registry: RegistryService & Service;
  let app: TestApp;
  let hook: Receiver;
  let scrape: () => Promise<string>;
  let closeMetrics: () => Promise<void>;
  const clock = movableClock();
  let syncFrom: string;

  beforeAll(async () => {
    // An internal registry of this test's own, with its access log on (the harness's is off).
    registry = await startRegistry({ name: 'e2e-registry', config: { log: { level: 'info', accesslog: { disabled: false } } } });
    const base = tempDir('osv-e2e');
    const osvPath = osvWithout(path.join(base, 'live'));
    syncFrom = osvWithout(path.join(base, 'source'));
    hook = await receiver();
    process.env.PORTCULLIS_TEST_E2E_SECRET = hook.secret;
    const scanner = new BuiltinScanner({ name: SCANNER, osvPath });
    await scanner.check();
    app = await startTestApp({
      scanners: [scanner],
      monitorClock: clock.now,
      config: {
        internalRegistry: { url: registry.url },
        scanners: [{ name: SCANNER, type: 'builtin', osvPath, sync: { from: [syncFrom], every: '6h' } }],
        // A day's grace for critical findings: nothing is revoked before the test moves the clock past it.
        monitor: { autoRevoke: true, autoRequest: true, grace: { critical: '1d' } },
        notifications: { retryBaseMs: 50, webhooks: [{ name: 'soc', url: hook.url, events: ['approval.*'], secretEnv: 'PORTCULLIS_TEST_E2E_SECRET' }] },
      },
    });
    // The metrics listener main.ts starts in every process, with its bearer token.
    const metrics = await startMetricsServer(app.services.metrics, { host: '127.0.0.1', port: 0, token: METRICS_TOKEN });
    scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
      return res.text();
    };
    closeMetrics = () => new Promise((resolve) => { metrics.server.close(() => resolve()); metrics.server.closeAllConnections(); });
  });

  afterAll(async () => {
    await closeMetrics?.();
    await app?.stop();
    hook?.server.closeAllConnections();
    hook?.server.close();
    await registry?.stop();
    delete process.env.PORTCULLIS_TEST_E2E_SECRET;
  });

  const repo = uniqueName('e2e');
  const image = `${svc.upstream.host}/${repo}`;
  let requestId: string;
  let digest: string;

  it('an approved image turns at_risk after a scheduled sync adds a real advisory: verified webhook, metrics, no blob read', async () => {
    // lodash 4.17.20 has a real high advisory (GHSA-35jh-r3h4-6jhm) in the data from the start:
    // known at approval, it does not block (policy fails on critical only).
    await pushImage(svc.upstream.url, repo, '1.0', await appImage('1.2.5', '4.17.20'));
    ({ id: requestId, digest } = await approveImage(app, `${image}:1.0`));
    const inventory = async (q = '') => (await app.call('ci', 'GET', `/v1/approved?team=payments${q}`)).body.items as Array<{ digest: string; health: { state: string; [k: string]: unknown } }>;
    const first = await until('the first evaluation', async () => (await inventory()).find((i) => i.digest === digest && i.health.evaluatedAt));
    expect(first.health).toMatchObject({ state: 'ok', maxSeverity: 'high', blocking: [] });
    expect(await scrape()).not.toMatch(/^portcullis_approvals_at_risk\{team="payments"/m);
    // The SBOM referrer is attached to the approved copy just after approval: let that traffic end first.
    const approvedRepo = `approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}`;
    const referrersTag = `sha256-${digest.slice('sha256:'.length)}`;
    await until('the approved SBOM referrer', async () => (await fetch(`${registry.url}/v2/${approvedRepo}/manifests/${referrersTag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).status === 200 || undefined);

    // Promotion's last writes (manifests, the referrers index) can still be reaching the registry:
    // the count to compare against is the one that has stopped moving.
    let before = registryLog(registry, repo);
    for (let i = 0; i < 20; i += 1) {
      await new Promise((r) => setTimeout(r, 250));
      const now = registryLog(registry, repo);
      if (now.requests === before.requests && i >= 3) break;
      before = now;
    }
    const proxyBefore = proxyBlobReads(repo);
    // The logs are live: the scan before read blobs through both.
    expect(before.blobReads).toBeGreaterThan(0);
    expect(proxyBefore).toBeGreaterThan(0);

    cpSync(realworld('osv', 'npm', `${GHSA}.json`), path.join(syncFrom, 'npm', `${GHSA}.json`));
    // What the job scheduler does every `sync.every`: one vulndb-sync job, run by the worker.
    const syncQueuedAt = Date.now();
    await app.services.monitorQueue.add('vulndb-sync', { scanner: SCANNER });

    const risky = await until('the approval at risk', async () => (await inventory('&health=at_risk')).find((i) => i.digest === digest), 60_000);
    expect(risky.health).toMatchObject({ state: 'at_risk', maxSeverity: 'critical' });
    expect(risky.health.blocking).toEqual([expect.objectContaining({ id: GHSA, aliases: expect.arrayContaining([CVE]), severity: 'critical', package: 'minimist', installedVersion: '1.2.5', fixedVersion: '1.2.6', cause: 'new' })]);
    // Still approved for CI until the grace ends.
    expect((await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}:1.0`)}`)).status).toBe(200);

    const event = await until('the verified at_risk webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.at_risk' && e.subject === digest));
    expect(event).toMatchObject({ specversion: '1.0', source: expect.any(String), data: { team: 'payments', image, requestId, to: 'at_risk' } });
    expect(event.data.cves).toEqual(expect.arrayContaining([GHSA, CVE]));
    expect(hook.bad).toBe(0);

    const scrapedFrom = Date.now();
    const exposition = await scrape();
    const scrapedTo = Date.now();
    expect(exposition).toMatch(/^portcullis_approvals_at_risk\{team="payments",severity="critical"\} 1$/m);
    expect(exposition).toMatch(/^portcullis_approved_images\{team="payments",max_severity="critical"\} 1$/m);
    // One scan (the request's; the re-match is not a scan), one decision (the approval).
    expect(exposition).toMatch(new RegExp(`^portcullis_scans_total\\{scanner="${SCANNER}",outcome="succeeded"\\} 1$`, 'm'));
    expect(exposition).toMatch(/^portcullis_time_to_decision_seconds_count\{decision="approve"\} 1$/m);
    // The data's age counts from the sync that just succeeded (GET /v1/scanners says when), in seconds.
    const status = (await app.call('auditor', 'GET', '/v1/scanners')).body.items.find((x: { name: string }) => x.name === SCANNER);
    expect(status.sync).toMatchObject({ status: 'ok', lastSyncAt: expect.any(String) });
    const age = Number(new RegExp(`^portcullis_vulndb_age_seconds\\{scanner="${SCANNER}"\\} (\\S+)$`, 'm').exec(exposition)?.[1]);
    const syncedAt = Date.parse(status.sync.lastSyncAt);
    expect(syncedAt).toBeGreaterThanOrEqual(syncQueuedAt);
    expect(age).toBeGreaterThanOrEqual(Math.round((scrapedFrom - syncedAt) / 1000));
    expect(age).toBeLessThanOrEqual(Math.round((scrapedTo - syncedAt) / 1000));

    // The re-match read the kept inventory: no request about this image reached the internal registry, no blob went through the proxy.
    const after = registryLog(registry, repo);
    expect(after.blobReads).toBe(before.blobReads);
    expect(after.requests).toBe(before.requests);
    expect(proxyBlobReads(repo)).toBe(proxyBefore);
  });

  it('the upstream tag moves to a fixed build: a drift event and a linked request that shows what it fixes', async () => {
    const fixed = await appImage('1.2.6', '4.17.21');
    await pushImage(svc.upstream.url, repo, '1.0', fixed);
    // The drift job runs one slice of the approved tags per run; a full run checks them all.
    const found = await app.services.monitor.drift.run();
    expect(found).toEqual([expect.objectContaining({ team: 'payments', image, tag: '1.0', toDigest: fixed.digest, requestId: expect.any(String) })]);
    const drift = await until('the verified drift webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.drift' && e.subject === digest));
    expect(drift.data).toMatchObject({ team: 'payments', image, tag: '1.0', toDigest: fixed.digest, requestId: found[0]!.requestId });

    // The worker takes the filed request through the pipeline, like any other.
    const filed = await app.waitForStatus(found[0]!.requestId!, ['awaiting_approval', 'failed']);
    expect(filed).toMatchObject({ status: 'awaiting_approval', requestedBy: 'system', image: `${image}:1.0`, replaces: { requestId, digest, tag: '1.0', toDigest: fixed.digest } });
    const changes = await until('the linked request\'s changes', async () => (await app.call('approver', 'GET', `/v1/requests/${filed.id}`)).body.replaces?.changes);
    // Compared with the approved request's findings (those at approval time): lodash's advisory is fixed, nothing added.
    expect(changes).toMatchObject({ fixed: [{ id: 'GHSA-35jh-r3h4-6jhm', severity: 'high', package: 'lodash' }], added: [], fixedTotal: 1, addedTotal: 0 });
  });

  it('with autoRevoke, past the grace the queued sweep revokes it: CI gets NOT_APPROVED with REVOKED', async () => {
    const byDigest = () => app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}@${digest}`)}`);
    expect((await byDigest()).status).toBe(200);
    clock.advance(DAY + 60_000);
    // What the job scheduler does every `monitor.sweepEvery`: one health-sweep job, run by the worker.
    await app.services.cleanup.queue.add('health-sweep', {});
    const lookup = await until('the revocation', async () => {
      const r = await byDigest();
      return r.status === 404 ? r : undefined;
    }, 60_000);
    expect(lookup.body.error).toMatchObject({ code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest, revokedBy: 'system' } });
    expect(lookup.body.error.details.revocationReason).toContain(GHSA);
    // By tag too; the revoked tag is remembered just after the ledger entry goes (until then a tag lookup is a plain NOT_APPROVED).
    const byTag = await until('the revoked tag', async () => {
      const r = await app.call('ci', 'GET', `/v1/approved?team=payments&image=${encodeURIComponent(`${image}:1.0`)}`);
      return r.body.error?.details?.reason === 'REVOKED' ? r : undefined;
    });
    expect(byTag.status).toBe(404);
    expect(byTag.body.error).toMatchObject({ code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest } });

    const revoked = await until('the verified revoked webhook', () => hook.got.find((e) => e.type === 'io.portcullis.approval.revoked' && e.subject === digest));
    expect(String(revoked.data.reason)).toContain(GHSA);
    expect(hook.bad).toBe(0);
    const exposition = await until('the revocation counted', async () => {
      const body = await scrape();
      return /^portcullis_revocations_total\{reason="grace_expired"\} 1$/m.test(body) ? body : undefined;
    });
    expect(exposition).not.toMatch(/^portcullis_approvals_at_risk\{team="payments",severity="critical"\} [1-9]/m);

    // The approved image is still served by digest: revocation never takes down a workload that restarts.
    const approvedRepo = `approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}`;
    const head = async () => (await fetch(`${registry.url}/v2/${approvedRepo}/manifests/${digest}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).status;
    await until('no unpublish job pending', async () => (await app.services.cleanup.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).every((j) => j.name !== 'unpublish') || undefined);
    expect(await head()).toBe(200);
    // An admin's revoke of the digest (every name) deletes it; CI still gets REVOKED, now the admin's.
    const manual = await app.call('admin', 'POST', '/v1/approvals/revoke', { digest, team: 'payments', reason: 'remove the vulnerable build' });
    expect(manual.status).toBe(200);
    expect(manual.body.revoked).toEqual([expect.objectContaining({ digest, image })]);
    await until('the kept image deleted', async () => (await head()) === 404 || undefined);
    expect((await byDigest()).body.error).toMatchObject({ code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest, revokedBy: 'admin' } });
  });
});
