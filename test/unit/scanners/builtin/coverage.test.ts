import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import type { Finding, ScanReport } from '../../../../src/scanners/types';
import { buildImage, type ImageSpec } from '../../../harness/images';
import { alpineImage, debianAppImage, DPKG_STATUS, OS_RELEASE_DEBIAN } from './images';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');

async function scan(spec: ImageSpec, osvPath = OSV): Promise<ScanReport> {
  const img = await buildImage(spec);
  const registry = new MemoryRegistry().addImage(img);
  return new BuiltinScanner({ name: 'builtin', osvPath }).scan({ registry, repository: 'q/x', digest: img.digest, registryUrl: registry.url });
}

const coverage = (r: ScanReport): Array<Pick<Finding, 'id' | 'title' | 'path'>> =>
  r.findings.filter((f) => f.kind === 'coverage').map((f) => ({ id: f.id, title: f.title, ...(f.path ? { path: f.path } : {}) }));

const one = (files: Record<string, string>): ImageSpec => ({ layers: [{ files }], config: { User: '1000' } });

describe('fail closed on coverage: OS packages', () => {
  test('a distribution without a package reader or OSV ecosystem (Fedora, Amazon Linux…) is an unscanned OS', async () => {
    const r = await scan(one({ 'etc/os-release': 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40 (Container Image)"\n' }));
    expect(r.status).toBe('succeeded');
    expect(coverage(r)).toEqual([
      { id: 'PORTCULLIS-UNSCANNED-OS', title: 'OS packages not scanned: distribution Fedora Linux 40 (Container Image) (ID=fedora) is not supported by the builtin scanner', path: '/etc/os-release' },
    ]);
  });

  test('Wolfi uses apk but is not Alpine: its packages are not matched against Alpine advisories, and that is said', async () => {
    const installed = 'P:busybox\nV:1.36.1-r28\no:busybox\n\n';
    const r = await scan(one({ 'etc/os-release': 'ID=wolfi\nNAME="Wolfi"\nPRETTY_NAME="Wolfi"\nVERSION_ID=20230201\n', 'lib/apk/db/installed': installed }));
    expect(r.findings.filter((f) => f.kind === 'vulnerability')).toEqual([]);
    expect(coverage(r).map((c) => c.id)).toEqual(['PORTCULLIS-UNSCANNED-OS']);
    expect(coverage(r)[0]?.title).toContain('ID=wolfi');
  });

  test('a dpkg database without os-release: the release is unknown', async () => {
    const r = await scan(one({ 'var/lib/dpkg/status': DPKG_STATUS }));
    expect(coverage(r)).toEqual([
      {
        id: 'PORTCULLIS-UNSCANNED-OS',
        title: 'OS packages not scanned: a dpkg package database without /etc/os-release: the distribution and release are unknown',
        path: '/var/lib/dpkg/status',
      },
    ]);
  });

  test('Debian whose dpkg database was deleted in a later layer is not clean, it is unscanned', async () => {
    const spec: ImageSpec = {
      layers: [{ files: { 'etc/os-release': OS_RELEASE_DEBIAN, 'var/lib/dpkg/status': DPKG_STATUS } }, { files: { 'var/lib/dpkg/.wh.status': '' } }],
      config: { User: '1000' },
    };
    const r = await scan(spec);
    expect(r.findings.filter((f) => f.kind === 'vulnerability')).toEqual([]);
    expect(coverage(r)).toEqual([
      { id: 'PORTCULLIS-UNSCANNED-OS', title: 'OS packages not scanned: Debian GNU/Linux 12 (bookworm) without its dpkg package database' },
    ]);
    // Without the deleting layer the same image is scanned and has no coverage finding.
    const whole = await scan({ ...spec, layers: spec.layers.slice(0, 1) });
    expect(coverage(whole)).toEqual([]);
    expect(whole.findings.some((f) => f.id === 'DSA-5532-1')).toBe(true);
  });

  test('a dpkg database that lists nothing installed (emptied or unreadable) is said too', async () => {
    const r = await scan(one({ 'etc/os-release': OS_RELEASE_DEBIAN, 'var/lib/dpkg/status': 'garbage without fields\n' }));
    expect(coverage(r).map((c) => [c.id, c.path])).toEqual([['PORTCULLIS-UNSCANNED-OS', '/var/lib/dpkg/status']]);
  });

  test('supported images and images without any OS have no coverage finding', async () => {
    expect(coverage(await scan(debianAppImage))).toEqual([]);
    expect(coverage(await scan(alpineImage))).toEqual([]);
    expect(coverage(await scan(one({ 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }) })))).toEqual([]);
  });
});

describe('fail closed on coverage: severities', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pcs-cov-'));
    const affected = (name: string) => [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }];
    await writeFile(path.join(dir, 'GHSA-none.json'), JSON.stringify({ id: 'GHSA-none', aliases: ['CVE-2099-1'], modified: '2024-01-01T00:00:00Z', summary: 'no severity at all', affected: affected('left-pad') }));
    await writeFile(
      path.join(dir, 'GHSA-v4.json'),
      JSON.stringify({
        id: 'GHSA-v4',
        modified: '2024-01-01T00:00:00Z',
        summary: 'v4 only',
        severity: [{ type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' }],
        affected: affected('is-odd'),
      }),
    );
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('an advisory with no scorable severity gets a coverage finding naming it; a v4-only one is scored', async () => {
    const r = await scan(
      one({
        'app/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0' }),
        'app/node_modules/is-odd/package.json': JSON.stringify({ name: 'is-odd', version: '1.0.0' }),
      }),
      dir,
    );
    expect(r.findings.map((f) => [f.kind, f.id, f.package, f.severity, f.fixedVersion, f.aliases.join(',')]).sort()).toEqual([
      ['coverage', 'PORTCULLIS-UNSCORED-SEVERITY:GHSA-none', 'left-pad', 'unknown', '2.0.0', 'GHSA-none,CVE-2099-1'],
      ['vulnerability', 'GHSA-none', 'left-pad', 'unknown', '2.0.0', 'CVE-2099-1'],
      ['vulnerability', 'GHSA-v4', 'is-odd', 'critical', '2.0.0', ''],
    ]);
    expect(r.findings.find((f) => f.id === 'GHSA-v4')?.cvss).toEqual({ version: '4.0', vector: expect.any(String), score: 9.3 });
  });
});
