/**
 * The builtin scanner on image indexes: every runnable child is scanned (what is scanned is
 * what is approved), attestations are skipped, nested indexes refused, findings merged with
 * their platform, and one decompression budget covers the whole index.
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../../src/scanners/types';
import { buildImage, buildIndex, sha256, tarOf, type BuiltImage, type BuiltIndex, type ImageSpec } from '../../../harness/images';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

const lodashLayer = (version: string, extra: Record<string, string> = {}): ImageSpec['layers'][number] => ({
  files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version }), ...extra },
});

/** An OCI index with hand-written entries (annotations, media types buildIndex does not write). */
function customIndex(manifests: object[], images: BuiltImage[]): BuiltIndex {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  return { digest: sha256(manifest), mediaType: OCI_INDEX, manifest, images };
}

const entry = (img: BuiltImage, extra: object = {}): object => ({
  mediaType: img.mediaType,
  digest: img.digest,
  size: img.manifest.length,
  platform: img.platform,
  ...extra,
});

async function scanIndex(registry: MemoryRegistry, idx: BuiltIndex, scanner = new BuiltinScanner({ name: 'b', osvPath: OSV })): Promise<ScanReport> {
  return scanner.scan({ registry, repository: 'r', digest: idx.digest, registryUrl: registry.url });
}

const byId = (r: ScanReport, id: string): Array<[string | undefined, string | undefined]> =>
  r.findings.filter((f) => f.id === id).map((f): [string | undefined, string | undefined] => [f.installedVersion, f.platform]).sort();

describe('BuiltinScanner on an image index', () => {
  test('a vulnerable package and a setuid file only in the arm64 child are found, naming linux/arm64', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1000' } });
    const arm = await buildImage({
      layers: [{ files: { ...lodashLayer('4.17.20').files, 'usr/bin/su': { content: 'ELF', mode: 0o4755 } } }],
      config: { User: '1000' },
      architecture: 'arm64',
    });
    const idx = buildIndex([amd, arm]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => [f.id, f.platform, f.layer])).toEqual([
      ['GHSA-35jh-r3h4-6jhm', 'linux/arm64', arm.layers[0]!.digest],
      ['CIS-4.8-SETUID:/usr/bin/su', 'linux/arm64', arm.layers[0]!.digest],
    ]);
  });

  test('the same advisory in per-architecture layers is one finding per platform', async () => {
    const spec = (arch: string): ImageSpec => ({ layers: [lodashLayer('4.17.20', { 'etc/arch': arch })], config: { User: '1' }, architecture: arch });
    const idx = buildIndex([await buildImage(spec('amd64')), await buildImage(spec('arm64')), await buildImage({ ...spec('arm'), variant: 'v7' })]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(byId(r, 'GHSA-35jh-r3h4-6jhm')).toEqual([
      ['4.17.20', 'linux/amd64'],
      ['4.17.20', 'linux/arm/v7'],
      ['4.17.20', 'linux/arm64'],
    ]);
    expect(r.summary.high).toBe(3);
  });

  test('a byte-identical layer shared by the children, and a config check they share, are one finding listing both platforms', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.20')] });
    const arm = await buildImage({ layers: [lodashLayer('4.17.20')], architecture: 'arm64' });
    expect(arm.layers[0]!.digest).toBe(amd.layers[0]!.digest); // the premise: the layer is shared
    const idx = buildIndex([amd, arm]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(byId(r, 'GHSA-35jh-r3h4-6jhm')).toEqual([['4.17.20', 'linux/amd64,linux/arm64']]);
    expect(r.findings.filter((f) => f.id === 'CIS-4.1-ROOT-USER').map((f) => f.platform)).toEqual(['linux/amd64,linux/arm64']);
    expect(r.findings).toHaveLength(2);
  });

  test('attestation manifests are skipped (unknown/unknown, or the reference-type annotation); the platform is still named', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.20')], config: { User: '1' } });
    const att1 = await buildImage({ layers: [lodashLayer('4.17.19', { a: '1' })], config: { User: '1' }, os: 'unknown', architecture: 'unknown' });
    const att2 = await buildImage({ layers: [lodashLayer('4.17.19', { a: '2' })], config: { User: '1' }, architecture: 'arm64' });
    const annotations = { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.digest };
    const idx = customIndex([entry(amd), entry(att1, { annotations }), entry(att2, { annotations })], [amd, att1, att2]);
    const registry = new MemoryRegistry().addIndex(idx);
    const r = await scanIndex(registry, idx);
    expect(r.findings.map((f) => [f.id, f.installedVersion, f.platform])).toEqual([['GHSA-35jh-r3h4-6jhm', '4.17.20', 'linux/amd64']]);
    expect(registry.blobReads).not.toEqual(expect.arrayContaining([att1.layers[0]!.digest]));
    expect(registry.blobReads).not.toEqual(expect.arrayContaining([att2.layers[0]!.digest]));
  });

  test('an index of attestations only has nothing runnable to scan', async () => {
    const att = await buildImage({ layers: [lodashLayer('4.17.20')], os: 'unknown', architecture: 'unknown' });
    const idx = customIndex([entry(att)], [att]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_FAILED', message: expect.stringContaining('no runnable image') } });
  });

  test.each([
    ['declared as an index', OCI_INDEX],
    ['declared as an image but holding an index', 'application/vnd.oci.image.manifest.v1+json'],
  ])('a nested index (%s) is refused, not skipped', async (_what, mediaType) => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1' } });
    const arm = await buildImage({ layers: [lodashLayer('4.17.20')], config: { User: '1' }, architecture: 'arm64' });
    const inner = buildIndex([arm]);
    const outer = customIndex([entry(amd), { mediaType, digest: inner.digest, size: inner.manifest.length }], [amd]);
    const registry = new MemoryRegistry().addIndex(inner).addIndex(outer);
    const r = await scanIndex(registry, outer);
    expect(r).toMatchObject({ status: 'failed', findings: [], error: { code: 'SCAN_FAILED', message: expect.stringContaining(`child ${inner.digest}`) } });
    expect(r.error?.message).toContain('nested more than one level deep');
  });

  test('one decompression budget covers all children: each fits alone, together they exceed it', async () => {
    const filler = gzipSync(await tarOf({ 'filler.bin': Buffer.alloc(3 * 1024 * 1024) }));
    const spec = (arch: string): ImageSpec => ({ layers: [{ files: {}, raw: filler }], config: { User: '1' }, architecture: arch });
    const amd = await buildImage(spec('amd64'));
    const arm = await buildImage(spec('arm64'));
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, limits: { maxTotalBytes: 4 * 1024 * 1024 } });
    const alone = buildIndex([amd]);
    expect((await scanIndex(new MemoryRegistry().addIndex(alone), alone, scanner)).status).toBe('succeeded');
    const both = buildIndex([amd, arm]);
    const r = await scanIndex(new MemoryRegistry().addIndex(both), both, scanner);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('decompressed image exceeds') } });
  });

  test('a single-platform image keeps findings without a platform', async () => {
    const img = await buildImage({ layers: [lodashLayer('4.17.20')], config: { User: '1' } });
    const registry = new MemoryRegistry().addImage(img);
    const r = await new BuiltinScanner({ name: 'b', osvPath: OSV }).scan({ registry, repository: 'r', digest: img.digest, registryUrl: registry.url });
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).not.toHaveProperty('platform');
  });
});
