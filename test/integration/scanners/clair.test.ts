/**
 * Clair adapter → Clair stand-in (written from Clair's OpenAPI 1.2.0) → a real docker-registry
 * with htpasswd auth. The stand-in really fetches every layer URI with the headers the adapter
 * gave it and checks every digest, so a wrong URI, header or credential fails these tests.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildIndex, pushImage, pushIndex, type BuiltImage } from '../../harness/images';
import { freePort } from '../../harness/proc';
import type { RegistryService } from '../../harness/registry';
import { uniqueName } from '../../harness/services';
import { createLogger } from '../../../src/lib/logger';
import { DistributionClient } from '../../../src/registry';
import { ClairScanner, clairScannerConfigSchema, type ClairScannerConfigInput } from '../../../src/scanners/clair';
import type { ScanTarget } from '../../../src/scanners/types';
import { startClairStandin, type ClairStandin } from './standins/clair';
import { debianImage, fakeClock, type FakeClock } from './standins/fixtures';
import { basic, PULL_USER, startAuthRegistry } from '../../harness/auth-registry';
import { realworld } from '../../harness/realworld';

const PSK = Buffer.from('a test pre-shared key, 32 bytes!').toString('base64');
const logger = createLogger({ level: 'silent' });

describe('Clair v4 adapter against the Clair stand-in and a real registry', () => {
  let registry: RegistryService;
  let client: DistributionClient;
  let image: BuiltImage;
  let repo: string;
  const standins: ClairStandin[] = [];

  beforeAll(async () => {
    registry = await startAuthRegistry('clair-registry');
    client = new DistributionClient({ url: registry.url, credentials: PULL_USER });
    repo = uniqueName('quarantine/clair');
    image = await debianImage();
    await pushImage(registry.url, repo, undefined, image, PULL_USER);
  });

  afterAll(async () => {
    await Promise.all(standins.map((s) => s.close()));
    client.close();
    await registry.stop();
  });

  async function standin(options: Parameters<typeof startClairStandin>[0]): Promise<ClairStandin> {
    const s = await startClairStandin(options);
    standins.push(s);
    return s;
  }

  function scanner(url: string, authorization: string | undefined, clock: FakeClock, extra: Partial<ClairScannerConfigInput> = {}): ClairScanner {
    const config = clairScannerConfigSchema.parse({ name: 'clair', type: 'clair', url, psk: PSK, pskIssuer: 'portcullis', pollIntervalMs: 1500, ...extra });
    return new ClairScanner(config, { registryAuthorization: async () => authorization, logger, clock });
  }

  const target = (digest: string, repository = repo): ScanTarget => ({ registry: client, repository, digest, registryUrl: registry.url });

  test('indexes with the given Authorization, waits out the matcher\'s 202s and normalizes the report', async () => {
    const clair = await standin({ psk: PSK, issuers: ['portcullis'], matcherNotReady: 2 });
    const clock = fakeClock();
    const adapter = scanner(clair.url, basic(PULL_USER), clock);
    await adapter.check();

    const report = await adapter.scan(target(image.digest));

    expect(report.error).toBeUndefined();
    expect(report.status).toBe('succeeded');
    expect(clair.events).toEqual([`index ${image.digest} IndexFinished`, 'matcher 202', 'matcher 202', 'matcher 201']);
    expect(clock.sleeps).toEqual([1500, 1500]);
    const byId = Object.fromEntries(report.findings.map((f) => [f.id, f]));
    expect(byId['CVE-2099-0001']).toEqual({
      id: 'CVE-2099-0001', aliases: [], kind: 'vulnerability', package: 'openssl', ecosystem: 'Debian:12',
      installedVersion: '3.0.11-1~deb12u1', fixedVersion: '3.0.13-1~deb12u1', severity: 'critical',
      cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 },
      title: 'openssl: remote code execution in a made-up parser',
      links: ['https://security-tracker.debian.org/tracker/CVE-2099-0001'],
      layer: image.layers[0].digest, path: 'var/lib/dpkg/status',
    });
    // Negligible counts as low; Unknown with a CVSS score takes the score's band (7.5 → high).
    expect(byId['CVE-2099-0002'].severity).toBe('low');
    expect(byId['CVE-2099-0003']).toMatchObject({ severity: 'high', package: 'bash', layer: image.layers[1].digest });
    expect(report.summary).toEqual({ critical: 1, high: 1, medium: 0, low: 1, unknown: 0 });
    expect(report.dbVersion).toMatch(/^clair:standin-indexer-1:[0-9a-f]{16}$/);
  });

  test.each([
    ['RHEL 8', 'index-report-rhel8.json', 'vulnerabilityreport.json', 89, 1],
    ['Alpine 3.7 with Python packages and enrichments', 'index-report-debian-10.json', 'vulnerabilityreport_withenrichments.json', 26, 2],
  ])('serving real Clair reports (%s), every package–vulnerability pair arrives', async (_what, indexFile, reportFile, vulns, unscored) => {
    const read = (f: string): Record<string, unknown> => JSON.parse(readFileSync(realworld('clair', f), 'utf8')) as Record<string, unknown>;
    const real = { indexReport: read(indexFile), vulnerabilityReport: read(reportFile) };
    const clair = await standin({ psk: PSK, issuers: ['portcullis'], real });
    const report = await scanner(clair.url, basic(PULL_USER), fakeClock()).scan(target(image.digest));
    expect(report.error).toBeUndefined();
    expect(report.findings.filter((f) => f.kind === 'vulnerability')).toHaveLength(vulns);
    expect(report.findings.filter((f) => f.kind === 'coverage')).toHaveLength(unscored);
    const pairs = new Set(report.findings.map((f) => `${f.package} ${f.installedVersion} ${f.id}`));
    const r = real.vulnerabilityReport as { packages: Record<string, { name: string; version: string }>; package_vulnerabilities: Record<string, string[] | null> };
    const expectedPackages = new Set(Object.entries(r.package_vulnerabilities).filter(([, v]) => v?.length).map(([p]) => `${r.packages[p]!.name} ${r.packages[p]!.version}`));
    expect(new Set([...pairs].map((p) => p.split(' ').slice(0, 2).join(' ')))).toEqual(expectedPackages);
  });

  test.each([
    ['a wrong password', basic({ username: PULL_USER.username, password: 'wrong' })],
    ['no Authorization at all', undefined],
  ])('with %s the registry refuses Clair\'s layer fetch: the scan fails with SCAN_FAILED', async (_what, authorization) => {
    const clair = await standin({ psk: PSK, issuers: ['portcullis'] });
    const report = await scanner(clair.url, authorization, fakeClock()).scan(target(image.digest));

    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('SCAN_FAILED');
    expect(report.error?.message).toContain(`Clair could not index ${image.digest}`);
    expect(report.error?.message).toContain('401');
    expect(report.error?.message).not.toContain('wrong');
    expect(report.findings).toEqual([]);
  });

  test('a PSK Clair does not accept is SCANNER_UNAVAILABLE, in check() and scan()', async () => {
    const clair = await standin({ psk: PSK, issuers: ['someone-else'] });
    const adapter = scanner(clair.url, basic(PULL_USER), fakeClock());
    await expect(adapter.check()).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE' });
    await expect(adapter.scan(target(image.digest))).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE', temporary: false });
  });

  test('the stand-in itself fails an index on a wrong URI or a digest that does not match', async () => {
    const clair = await standin({});
    const [l0, l1] = image.layers;
    const auth = { Authorization: [basic(PULL_USER)] };
    const post = async (layers: unknown[]) => {
      const res = await fetch(`${clair.url}/indexer/api/v1/index_report`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hash: image.digest, layers }),
      });
      return { status: res.status, body: (await res.json()) as { state: string; success: boolean; err: string } };
    };
    const mismatch = await post([{ hash: l1.digest, uri: `${registry.url}/v2/${repo}/blobs/${l0.digest}`, headers: auth }]);
    expect(mismatch).toMatchObject({ status: 201, body: { state: 'IndexError', success: false } });
    expect(mismatch.body.err).toContain('digest mismatch');
    const wrongRepo = await post([{ hash: l0.digest, uri: `${registry.url}/v2/${repo}-other/blobs/${l0.digest}`, headers: auth }]);
    expect(wrongRepo.body).toMatchObject({ state: 'IndexError', success: false });
    expect(wrongRepo.body.err).toMatch(/unexpected status code 404/);
  });

  test('an index is scanned child by child and the findings merged', async () => {
    const arm = await debianImage('arm64', { 'etc/arch': 'arm64' });
    const index = buildIndex([image, arm]);
    const indexRepo = uniqueName('quarantine/clair-index');
    await pushIndex(registry.url, indexRepo, undefined, index, PULL_USER);
    const clair = await standin({ psk: PSK, issuers: ['portcullis'] });

    const report = await scanner(clair.url, basic(PULL_USER), fakeClock()).scan(target(index.digest, indexRepo));

    expect(report.status).toBe('succeeded');
    expect(clair.events.filter((e) => e.startsWith('index '))).toEqual([`index ${image.digest} IndexFinished`, `index ${arm.digest} IndexFinished`]);
    expect(report.findings.map((f) => f.id).sort()).toEqual(['CVE-2099-0001', 'CVE-2099-0002', 'CVE-2099-0003']);
  });

  test('a refused connection is SCANNER_UNAVAILABLE (temporary); an off-spec report is SCAN_FAILED', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    await expect(scanner(closed, basic(PULL_USER), fakeClock(), { psk: undefined }).scan(target(image.digest)))
      .rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE', temporary: true });

    // A Clair whose matcher answers a report without the spec's required fields.
    const bad = createServer((req, res) => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.method === 'POST'
        ? { manifest_hash: image.digest, state: 'IndexFinished', success: true }
        : { manifest_hash: image.digest, packages: {} }));
    });
    await new Promise<void>((resolve) => bad.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(bad.address() as AddressInfo).port}`;
      const report = await scanner(url, basic(PULL_USER), fakeClock(), { psk: undefined }).scan(target(image.digest));
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('SCAN_FAILED');
      expect(report.error?.message).toMatch(/vulnerability_report.*malformed response \(distributions:/);
    } finally {
      await new Promise<void>((resolve) => bad.close(() => resolve()));
    }
  });
});
