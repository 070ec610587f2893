/**
 * The scenario with a real advisory: an npm application image (minimist 1.2.5) is
 * approved against an OSV folder holding the real npm advisories of the corpus except
 * GHSA-xvch-5gv4-984h (CVE-2021-44906, critical, fixed in 1.2.6); the real advisory is then
 * added and the image re-matched (here: scanned again and stored, then `findings.updated`
 * published, as the inventory's re-match does). Within the call the approval is `at_risk`;
 * a real receiver verifying with `standardwebhooks` gets `approval.at_risk` naming the CVE;
 * the metrics listener shows it.
 */
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startMetricsServer } from '../../../src/events';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { tempDir } from '../../harness/proc';
import { realworld } from '../../harness/realworld';
import { services, uniqueName } from '../../harness/services';
import { approveImage, movableClock, newFindings, receiver, scanner, until, type Receiver } from './fixtures';

const svc = services();
const GHSA = 'GHSA-xvch-5gv4-984h';
const CVE = 'CVE-2021-44906';
const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const DPKG = 'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n';

/** The corpus's npm advisories, with or without the minimist critical one. */
function npmOsv(withAdvisory: boolean): string {
  const dir = path.join(tempDir('osv-rw'), 'db', 'npm');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(realworld('osv', 'npm'))) {
    if (!withAdvisory && f === `${GHSA}.json`) continue;
    cpSync(realworld('osv', 'npm', f), path.join(dir, f));
  }
  return path.dirname(dir);
}

describe('a real advisory appears after approval', () => {
  let app: TestApp;
  let hook: Receiver;
  const clock = movableClock();
  const clean = npmOsv(false);
  const full = npmOsv(true);

  beforeAll(async () => {
    hook = await receiver();
    process.env.PORTCULLIS_TEST_RW_SECRET = hook.secret;
    app = await startTestApp({
      scanners: [await scanner(clean)], monitorClock: clock.now,
      config: { notifications: { retryBaseMs: 50, webhooks: [{ name: 'soc', url: hook.url, events: ['approval.at_risk'], secretEnv: 'PORTCULLIS_TEST_RW_SECRET' }] } },
    });
  });
  afterAll(async () => {
    await app.stop();
    hook.server.closeAllConnections();
    hook.server.close();
    delete process.env.PORTCULLIS_TEST_RW_SECRET;
  });

  it('is at_risk at once, the verified webhook names the CVE, and /metrics counts it', async () => {
    const repo = uniqueName('rw');
    const img = await buildImage({
      layers: [
        { files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': DPKG } },
        { files: { 'app/node_modules/minimist/package.json': JSON.stringify({ name: 'minimist', version: '1.2.5' }), 'app/package.json': JSON.stringify({ name: 'app', version: '1.0.0' }) } },
      ],
      config: { User: '1000:1000' },
    });
    await pushImage(svc.upstream.url, repo, '1.0', img);
    const image = `${svc.upstream.host}/${repo}`;
    const { digest } = await approveImage(app, `${image}:1.0`);
    await until('the first evaluation', async () => (await app.services.monitor.health.of([{ team: 'payments', image, digest }]))[0] ?? undefined);

    const metrics = await startMetricsServer(app.services.metrics, { host: '127.0.0.1', port: 0 });
    try {
      const scrape = async () => (await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).text();
      expect(await scrape()).not.toMatch(/^portcullis_approvals_at_risk\{/m);

      await newFindings(app, 'payments', image, digest, full);
      const item = (await app.call('ci', 'GET', '/v1/approved?team=payments&health=at_risk')).body.items[0];
      expect(item).toMatchObject({ digest, health: { state: 'at_risk', maxSeverity: 'critical' } });
      expect(item.health.blocking).toEqual([expect.objectContaining({ id: GHSA, aliases: expect.arrayContaining([CVE]), severity: 'critical', package: 'minimist', installedVersion: '1.2.5', fixedVersion: '1.2.6', cause: 'new' })]);

      const event = await until('the verified at_risk webhook', () => hook.got.find((e) => e.subject === digest));
      expect(event.type).toBe('io.portcullis.approval.at_risk');
      expect(event.data.cves).toEqual([GHSA, CVE]);
      expect(hook.bad).toBe(0);
      const body = await scrape();
      expect(body).toMatch(/^portcullis_approvals_at_risk\{team="payments",severity="critical"\} 1$/m);
      expect(body).toMatch(/^portcullis_approved_images\{team="payments",max_severity="critical"\} 1$/m);
    } finally {
      metrics.server.close();
    }
  });
});
