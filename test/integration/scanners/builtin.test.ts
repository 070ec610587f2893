/**
 * The builtin scanner against real images in the real internal registry (docker-registry
 * started by the harness), read through the real DistributionClient, matched against the
 * fixture OSV database.
 */
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { DistributionClient } from '../../../src/registry/client';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { buildImage, buildIndex, pushImage, pushIndex, type ImageSpec } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { alpineImage, debianAppImage } from '../../unit/scanners/builtin/images';

const OSV = path.join(__dirname, '../../fixtures/osv/db');
const MiB = 1024 * 1024;

/** A gzip layer holding one file of `size` zero bytes, built as a stream (never in memory whole). */
async function zeroBombLayer(size: number): Promise<Buffer> {
  const tar = pack();
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  tar.on('data', (c: unknown) => {
    gz.write(c as Buffer);
  });
  tar.on('end', () => gz.end());
  const entry = tar.entry({ name: 'var/cache/zeros.bin', size }, (err) => (err ? gz.destroy(err) : tar.finalize()));
  const chunk = Buffer.alloc(MiB);
  for (let written = 0; written < size; written += chunk.length) {
    if (!entry.write(chunk)) await new Promise<void>((r) => entry.once('drain', () => r()));
  }
  entry.end(null);
  await done;
  return Buffer.concat(out);
}

describe('BuiltinScanner on images in docker-registry', () => {
  const svc = services();
  const registry = new DistributionClient({ url: svc.internal.url });
  afterAll(() => registry.close());
  let bomb: Buffer;
  beforeAll(async () => {
    bomb = await zeroBombLayer(256 * MiB);
  });

  async function pushAndScan(spec: ImageSpec, scanner = new BuiltinScanner({ name: 'builtin', osvPath: OSV })): Promise<ScanReport> {
    const repository = `quarantine/${uniqueName('scan')}`;
    const img = await buildImage(spec);
    await pushImage(svc.internal.url, repository, undefined, img);
    return scanner.scan({ registry, repository, digest: img.digest, registryUrl: registry.url });
  }

  const summary = (r: ScanReport): string[] =>
    r.findings
      .filter((f) => f.kind === 'vulnerability')
      .map((f) => `${f.id} ${f.package} ${f.installedVersion} -> ${f.fixedVersion ?? '-'} ${f.severity}`)
      .sort();

  test('dpkg (Source:), npm and Python packages; a later layer’s whiteouts remove deleted packages', async () => {
    const r = await pushAndScan(debianAppImage);
    expect(r.status).toBe('succeeded');
    expect(summary(r)).toEqual([
      'DEBIAN-CVE-2024-0001 libfoo1 1.2-3+b1 -> 1.2-4 medium',
      'DSA-5000-1 libc6 2.36-9+deb12u1 -> 2.36-9+deb12u3 high',
      'DSA-5532-1 libssl3 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2 critical',
      'GHSA-35jh-r3h4-6jhm lodash 4.17.20 -> 4.17.21 high',
      'GHSA-h5c8-rqwp-cp95 Jinja2 3.1.2 -> 3.1.3 medium',
    ]);
    // zlib1g (status.d whiteout), requests (egg-info whiteout) and minimist (opaque dir) were deleted
    expect(r.findings.map((f) => f.package)).not.toEqual(expect.arrayContaining(['zlib1g']));
    expect(r.findings.map((f) => f.package)).not.toEqual(expect.arrayContaining(['requests']));
    expect(r.findings.map((f) => f.package)).not.toEqual(expect.arrayContaining(['minimist']));
  });

  async function pushIndexAndScan(images: ImageSpec[], format: 'oci' | 'docker' = 'oci'): Promise<ScanReport> {
    const repository = `quarantine/${uniqueName('scan')}`;
    const built = [];
    for (const spec of images) built.push(await buildImage({ ...spec, format }));
    const idx = buildIndex(built, format);
    await pushIndex(svc.internal.url, repository, undefined, idx);
    return new BuiltinScanner({ name: 'b', osvPath: OSV }).scan({ registry, repository, digest: idx.digest, registryUrl: registry.url });
  }

  /** Alpine with busybox at the fixed release: no finding of its own. */
  const patchedAlpine: ImageSpec = {
    layers: [{ files: { 'etc/os-release': 'ID=alpine\nVERSION_ID=3.20.3\n', 'lib/apk/db/installed': 'P:busybox\nV:1.36.1-r29\no:busybox\n\n' } }],
    config: { User: '65534' },
  };

  test('a Docker manifest list is scanned child by child (apk, origin mapping); findings name their platform', async () => {
    const r = await pushIndexAndScan(
      [{ layers: [{ files: { 'etc/os-release': 'ID=alpine\nVERSION_ID=3.20.0\n' } }], config: { User: '1' }, architecture: 'arm64' }, alpineImage],
      'docker',
    );
    expect(summary(r)).toEqual([
      'ALPINE-CVE-2023-42363 busybox 1.36.1-r28 -> 1.36.1-r29 medium',
      'ALPINE-CVE-2023-42363 ssl_client 1.36.1-r28 -> 1.36.1-r29 medium',
    ]);
    expect(r.findings.filter((f) => f.kind === 'vulnerability').map((f) => f.platform)).toEqual(['linux/amd64', 'linux/amd64']);
    // The arm64 child says it is Alpine but has no apk database: unscanned, not clean.
    expect(r.findings.filter((f) => f.kind === 'coverage').map((f) => [f.id, f.platform])).toEqual([['PORTCULLIS-UNSCANNED-OS', 'linux/arm64']]);
  });

  test('an OCI index whose arm64 child alone carries a vulnerable package: the finding is reported for linux/arm64', async () => {
    const r = await pushIndexAndScan([patchedAlpine, { ...alpineImage, architecture: 'arm64' }]);
    expect(r.status).toBe('succeeded');
    expect(r.findings.filter((f) => f.kind === 'vulnerability').map((f) => [f.id, f.package, f.installedVersion, f.platform])).toEqual([
      ['ALPINE-CVE-2023-42363', 'busybox', '1.36.1-r28', 'linux/arm64'],
      ['ALPINE-CVE-2023-42363', 'ssl_client', '1.36.1-r28', 'linux/arm64'],
    ]);
    expect(r.summary.medium).toBe(2);
  });

  test('an OCI index whose arm64 child alone has a setuid file: the hardening finding is reported for linux/arm64', async () => {
    const armLayers = [...patchedAlpine.layers, { files: { 'usr/bin/su': { content: 'ELF', mode: 0o4755 } } }];
    const r = await pushIndexAndScan([patchedAlpine, { ...patchedAlpine, layers: armLayers, architecture: 'arm64' }]);
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => [f.id, f.kind, f.platform, f.path])).toEqual([
      ['CIS-4.8-SETUID:/usr/bin/su', 'misconfiguration', 'linux/arm64', '/usr/bin/su'],
    ]);
  });

  test('a decompression bomb is refused at the limit', async () => {
    expect(bomb.length).toBeLessThan(MiB);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxTotalBytes: 32 * MiB } });
    const r = await pushAndScan({ layers: [{ files: {}, raw: bomb }] }, scanner);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_LIMIT_EXCEEDED' }, findings: [] });
  });

  test('a bomb under the limit streams through without holding it in memory', async () => {
    const before = process.memoryUsage().rss;
    const r = await pushAndScan({ layers: [{ files: {}, raw: bomb }, ...debianAppImage.layers.slice(0, 1)] });
    const grown = process.memoryUsage().rss - before;
    expect(r.status).toBe('succeeded');
    expect(summary(r)).toContain('DSA-5532-1 libssl3 3.0.11-1~deb12u1 -> 3.0.11-1~deb12u2 critical');
    // 256 MiB went through; buffering it would grow the process by at least that much.
    expect(grown).toBeLessThan(128 * MiB);
  });

  test('a path-traversal layer is refused', async () => {
    const r = await pushAndScan({ layers: [{ files: { 'app/../../../etc/cron.d/evil': '* * * * * root sh\n' } }] });
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_FAILED', message: expect.stringContaining('escapes the image root') } });
  });

  test('hardening findings come from the real image config', async () => {
    const r = await pushAndScan({
      layers: [{ files: { 'usr/bin/su': { content: 'ELF', mode: 0o4755 } } }],
      config: { Env: ['GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345'] },
    });
    expect(r.findings.map((f) => f.id).sort()).toEqual([
      'CIS-4.1-ROOT-USER',
      'CIS-4.10-SECRET-ENV:GITHUB_TOKEN',
      'CIS-4.8-SETUID:/usr/bin/su',
    ]);
    expect(JSON.stringify(r)).not.toContain('ghp_0123456789');
  });
});
