import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../../src/scanners/types';
import { buildImage, buildIndex, tarOf, type ImageSpec } from '../../../harness/images';
import { alpineImage, debianAppImage } from './images';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');

async function scanSpec(spec: ImageSpec, scanner = new BuiltinScanner({ name: 'builtin', osvPath: OSV })): Promise<ScanReport> {
  const img = await buildImage(spec);
  const registry = new MemoryRegistry().addImage(img);
  return scanner.scan({ registry, repository: 'quarantine/x', digest: img.digest, registryUrl: registry.url });
}

const vulns = (r: ScanReport): string[][] =>
  r.findings
    .filter((f) => f.kind === 'vulnerability')
    .map((f) => [f.id, f.package ?? '', f.installedVersion ?? '', f.fixedVersion ?? '', f.severity])
    .sort((a, b) => a.join().localeCompare(b.join()));

describe('BuiltinScanner', () => {
  test('finds dpkg (via Source), npm and Python vulnerabilities; whiteouts and opaque dirs hide deleted packages', async () => {
    const r = await scanSpec(debianAppImage);
    expect(r.status).toBe('succeeded');
    expect(vulns(r)).toEqual([
      ['DEBIAN-CVE-2024-0001', 'libfoo1', '1.2-3+b1', '1.2-4', 'medium'],
      ['DSA-5000-1', 'libc6', '2.36-9+deb12u1', '2.36-9+deb12u3', 'high'],
      ['DSA-5532-1', 'libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', 'critical'],
      ['GHSA-35jh-r3h4-6jhm', 'lodash', '4.17.20', '4.17.21', 'high'],
      ['GHSA-h5c8-rqwp-cp95', 'Jinja2', '3.1.2', '3.1.3', 'medium'],
    ]);
    const ssl = r.findings.find((f) => f.id === 'DSA-5532-1');
    expect(ssl).toMatchObject({ ecosystem: 'Debian:12', path: '/var/lib/dpkg/status', cvss: { score: 9.8 } });
    expect(r.summary).toEqual({ critical: 1, high: 2, medium: 2, low: 0, unknown: 0 });
    expect(r.dbVersion).toMatch(/^osv-/);
    // USER app: no root finding; nothing else misconfigured in this image
    expect(r.findings.filter((f) => f.kind === 'misconfiguration')).toEqual([]);
  });

  test('without the deleting layer the same packages are reported (the whiteout test is not vacuous)', async () => {
    const r = await scanSpec({ ...debianAppImage, layers: debianAppImage.layers.slice(0, 2) });
    const ids = vulns(r).map((v) => v[0]);
    expect(ids).toEqual(expect.arrayContaining(['DEBIAN-CVE-2024-0002', 'PYSEC-2023-74', 'GHSA-crit-0000-0000']));
  });

  test('apk packages match through their origin with the Alpine release ecosystem', async () => {
    const r = await scanSpec(alpineImage);
    expect(vulns(r)).toEqual([
      ['ALPINE-CVE-2023-42363', 'busybox', '1.36.1-r28', '1.36.1-r29', 'medium'],
      ['ALPINE-CVE-2023-42363', 'ssl_client', '1.36.1-r28', '1.36.1-r29', 'medium'],
    ]);
    expect(r.findings[0]?.ecosystem).toBe('Alpine:v3.20');
  });

  test('every platform of an index is scanned; a finding names the platform it came from', async () => {
    const lodash = (version: string): ImageSpec => ({
      layers: [{ files: { 'node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version }) } }],
      config: { User: '1000' },
    });
    const arm = await buildImage({ ...lodash('4.17.21'), architecture: 'arm64' });
    const amd = await buildImage(lodash('4.17.20'));
    const idx = buildIndex([arm, amd]);
    const registry = new MemoryRegistry().addIndex(idx);
    const r = await new BuiltinScanner({ name: 'b', osvPath: OSV }).scan({ registry, repository: 'r', digest: idx.digest, registryUrl: registry.url });
    expect(r.findings.map((f) => [f.id, f.installedVersion, f.platform])).toEqual([['GHSA-35jh-r3h4-6jhm', '4.17.20', 'linux/amd64']]);
    // The clean arm64 child was read too: its cleanness was checked, not assumed.
    expect(registry.blobReads).toEqual(expect.arrayContaining([arm.layers[0]!.digest, amd.layers[0]!.digest]));
  });

  test('uncompressed layers are read as plain tar', async () => {
    const r = await scanSpec({ layers: [{ ...debianAppImage.layers[0]!, uncompressed: true }], config: { User: '1' } });
    expect(vulns(r).map((v) => v[0])).toContain('DSA-5532-1');
  });

  describe('bounds and hostile layers', () => {
    const zeros = async (size: number): Promise<Buffer> => gzipSync(await tarOf({ 'big.bin': Buffer.alloc(size) }), { level: 9 });

    test('a decompression bomb stops at the total limit with SCAN_LIMIT_EXCEEDED', async () => {
      const raw = await zeros(48 * 1024 * 1024);
      expect(raw.length).toBeLessThan(1024 * 1024); // the layer itself is small
      const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxTotalBytes: 4 * 1024 * 1024 } });
      const r = await scanSpec({ layers: [{ files: {}, raw }] }, scanner);
      expect(r.status).toBe('failed');
      expect(r.error).toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('decompressed image exceeds') });
      expect(r.findings).toEqual([]);
    });

    test('a file above the per-file limit fails the scan before it is read', async () => {
      const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxFileBytes: 1024 * 1024 } });
      const r = await scanSpec({ layers: [{ files: {}, raw: await zeros(2 * 1024 * 1024) }] }, scanner);
      expect(r.error).toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('big.bin') });
    });

    test('too many entries is a bomb too', async () => {
      const files = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, '']));
      const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxEntries: 20 } });
      expect((await scanSpec({ layers: [{ files }] }, scanner)).error?.code).toBe('SCAN_LIMIT_EXCEEDED');
    });

    test.each([
      ['a .. entry', { '../../etc/cron.d/evil': 'x' }],
      ['a nested .. entry', { 'usr/../../root/x': 'x' }],
      ['a hard link out of the root', { 'etc/shadow-link': { type: 'link' as const, linkname: '../../etc/shadow' } }],
      ['an absolute hard link', { 'etc/shadow-link': { type: 'link' as const, linkname: '/etc/shadow' } }],
    ])('%s is refused', async (_what, files) => {
      const r = await scanSpec({ layers: [{ files }] });
      expect(r.status).toBe('failed');
      expect(r.error).toMatchObject({ code: 'SCAN_FAILED', message: expect.stringContaining('escapes the image root') });
    });

    test('an absolute symlink is normal in images and is not followed', async () => {
      const r = await scanSpec({ layers: [{ files: { 'usr/bin/python': { type: 'symlink', linkname: '/usr/bin/python3' } } }], config: { User: '1' } });
      expect(r.status).toBe('succeeded');
    });

    test('a corrupt gzip layer fails the scan', async () => {
      const good = gzipSync(await tarOf({ a: 'x'.repeat(10000) }));
      const raw = Buffer.concat([good.subarray(0, 20), Buffer.alloc(200, 7)]);
      const r = await scanSpec({ layers: [{ files: {}, raw }] });
      expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_FAILED' } });
    });
  });

  test('start-up check fails on a missing database; dbVersion follows the files', async () => {
    await expect(new BuiltinScanner({ name: 'b', osvPath: '/nonexistent' }).check()).rejects.toMatchObject({ code: 'SCANNER_UNAVAILABLE' });
    const s = new BuiltinScanner({ name: 'b', osvPath: OSV });
    await expect(s.check()).resolves.toBeUndefined();
    expect(await s.dbVersion()).toBe(await s.dbVersion());
  });
});
