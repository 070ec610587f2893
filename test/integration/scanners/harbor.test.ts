/**
 * Harbor adapter → Harbor scanner stand-in (written from the Pluggable Scanner API v1.2
 * document) → a real docker-registry with htpasswd auth. The stand-in pulls the manifest and
 * every layer with exactly the authorization in the ScanRequest and checks every digest.
 */
import { pushImage, type BuiltImage } from '../../harness/images';
import type { RegistryService } from '../../harness/registry';
import { uniqueName } from '../../harness/services';
import { createLogger } from '../../../src/lib/logger';
import { DistributionClient } from '../../../src/registry';
import { capabilityProblem, HarborScanner, harborScannerConfigSchema, type HarborScannerConfigInput } from '../../../src/scanners/harbor';
import type { ScanTarget } from '../../../src/scanners/types';
import { fakeClock, debianImage, type FakeClock } from './standins/fixtures';
import { startHarborStandin, type HarborStandin, type HarborStandinOptions } from './standins/harbor';
import { basic, PULL_USER, startAuthRegistry } from '../../harness/auth-registry';

const ADAPTER_AUTH = 'Bearer adapter-token-for-tests';
const logger = createLogger({ level: 'silent' });

describe('Harbor pluggable-scanner adapter against the stand-in and a real registry', () => {
  let registry: RegistryService;
  let client: DistributionClient;
  let image: BuiltImage;
  let repo: string;
  const standins: HarborStandin[] = [];

  beforeAll(async () => {
    registry = await startAuthRegistry('harbor-registry');
    client = new DistributionClient({ url: registry.url, credentials: PULL_USER });
    repo = uniqueName('quarantine/harbor');
    image = await debianImage();
    await pushImage(registry.url, repo, undefined, image, PULL_USER);
  });

  afterAll(async () => {
    await Promise.all(standins.map((s) => s.close()));
    client.close();
    await registry.stop();
  });

  async function standin(options: HarborStandinOptions): Promise<HarborStandin> {
    const s = await startHarborStandin({ authorization: ADAPTER_AUTH, ...options });
    standins.push(s);
    return s;
  }

  function scanner(url: string, registryAuth: string | undefined, clock: FakeClock, extra: Partial<HarborScannerConfigInput> = {}): HarborScanner {
    const config = harborScannerConfigSchema.parse({ name: 'harbor', type: 'harbor', url, authorization: ADAPTER_AUTH, ...extra });
    return new HarborScanner(config, { registryAuthorization: async () => registryAuth, logger, clock });
  }

  const target = (): ScanTarget => ({ registry: client, repository: repo, digest: image.digest, registryUrl: registry.url });

  test('checks the metadata, polls through 302s honouring Refresh-After and normalizes the report', async () => {
    const harbor = await standin({ pendingPolls: 2, refreshAfter: '7' });
    const clock = fakeClock();
    const adapter = scanner(harbor.url, basic(PULL_USER), clock);
    await adapter.check();

    const report = await adapter.scan(target());

    expect(report.error).toBeUndefined();
    expect(report.status).toBe('succeeded');
    expect(harbor.events).toEqual([`scan ${image.digest}`, 'report 302', 'report 302', 'report 200']);
    expect(clock.sleeps).toEqual([7000, 7000]);
    const byId = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(byId['CVE-2099-0001']).toEqual({
      id: 'CVE-2099-0001', aliases: [], kind: 'vulnerability', package: 'openssl',
      installedVersion: '3.0.11-1~deb12u1', fixedVersion: '3.0.13-1~deb12u1', severity: 'critical',
      cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
      title: 'openssl: remote code execution in a made-up parser',
      links: ['https://security-tracker.debian.org/tracker/CVE-2099-0001'],
      layer: image.layers[0].digest,
    });
    expect(byId['CVE-2099-0002'].severity).toBe('low');
    expect(byId['CVE-2099-0003']).toMatchObject({ severity: 'high', layer: image.layers[1].digest });
    expect(report.summary).toEqual({ critical: 1, high: 1, medium: 0, low: 1, unknown: 0 });
    expect(report.dbVersion).toBe('harbor:Standin/1.0.0:2024-01-01T00:00:00Z');
  });

  test('like the real Trivy adapter (302 to itself, no Refresh-After): waits the default interval, never follows the redirect', async () => {
    const harbor = await standin({ pendingPolls: 3 });
    const clock = fakeClock();
    const report = await scanner(harbor.url, basic(PULL_USER), clock, { pollIntervalMs: 4000 }).scan(target());
    expect(report.status).toBe('succeeded');
    // Exactly one request per wait: a client following Location would have re-requested at once.
    expect(harbor.events).toEqual([`scan ${image.digest}`, 'report 302', 'report 302', 'report 302', 'report 200']);
    expect(clock.sleeps).toEqual([4000, 4000, 4000]);
    expect(report.findings.map((f) => f.id).sort()).toEqual(['CVE-2099-0001', 'CVE-2099-0002', 'CVE-2099-0003']);
  });

  test.each([
    ['not a number', 'soon', 5000],
    ['a date instead of seconds', 'Wed, 21 Oct 2015 07:28:00 GMT', 5000],
    ['above the bound', '3600', 60000],
    ['zero (would spin)', '0', 250],
  ])('a Refresh-After that is %s (%j) waits %d ms', async (_what, refreshAfter, wait) => {
    const harbor = await standin({ pendingPolls: 1, refreshAfter });
    const clock = fakeClock();
    expect((await scanner(harbor.url, basic(PULL_USER), clock).scan(target())).status).toBe('succeeded');
    expect(clock.sleeps).toEqual([wait]);
  });

  test.each([
    ['a wrong password', basic({ username: PULL_USER.username, password: 'wrong' })],
    ['no authorization', undefined],
  ])('with %s the scanner cannot pull: its 500 report makes the scan fail with SCAN_FAILED', async (_what, registryAuth) => {
    const harbor = await standin({});
    const report = await scanner(harbor.url, registryAuth, fakeClock()).scan(target());

    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('SCAN_FAILED');
    expect(report.error?.message).toMatch(/the scanner reports the scan failed: .*401/);
    expect(report.error?.message).not.toContain('wrong');
    // The real adapter's error media type has no `+json`; its message is still read out of the JSON.
    expect(report.error?.message).not.toContain('{"error"');
    expect(harbor.events).toContain('report 500');
  });

  test('an adapter that refuses our Authorization is SCANNER_UNAVAILABLE', async () => {
    const harbor = await standin({});
    const adapter = scanner(harbor.url, basic(PULL_USER), fakeClock(), { authorization: 'Bearer not-the-token' });
    await expect(adapter.check()).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE' });
    await expect(adapter.scan(target())).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE' });
  });

  test('a report that never gets ready times out as SCANNER_UNAVAILABLE (temporary)', async () => {
    const harbor = await standin({ pendingPolls: 1000, refreshAfter: '7' });
    const clock = fakeClock();
    await expect(scanner(harbor.url, basic(PULL_USER), clock, { timeoutMs: 20_000 }).scan(target()))
      .rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE', temporary: true });
    expect(clock.sleeps).toEqual([7000, 7000]);
  });

  test('metadata without both image manifest types or the v1.1 report is refused', () => {
    const base = { scanner: { name: 'x' }, capabilities: [{ consumes_mime_types: ['application/vnd.oci.image.manifest.v1+json'], produces_mime_types: ['application/vnd.security.vulnerability.report;version=1.1'] }] };
    expect(capabilityProblem(base)).toMatch(/does not consume application\/vnd.docker.distribution.manifest.v2\+json/);
    base.capabilities[0].consumes_mime_types.push('application/vnd.docker.distribution.manifest.v2+json');
    expect(capabilityProblem(base)).toBeNull();
    base.capabilities[0].produces_mime_types = ['application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0'];
    expect(capabilityProblem(base)).toMatch(/does not produce/);
  });
});
