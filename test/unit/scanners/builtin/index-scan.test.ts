/**
 * The builtin scanner on image indexes: every child is judged by its bytes (issue 8.1): a
 * runnable one is scanned whatever its label, an attestation by content is skipped, anything
 * else (nested indexes, artifacts, foreign bytes) is UNSCANNABLE_CHILD; identical children are
 * scanned once; findings are merged with their platform, and one decompression budget covers
 * the whole index.
 */
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAX_DISTINCT_CHILDREN } from '../../../../src/registry/children';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../../src/scanners/types';
import {
  attestationEntry, buildAttestation, buildImage, buildIndex, customIndex, sha256, tarOf, type BuiltImage, type BuiltIndex, type ImageSpec,
} from '../../../harness/images';
import { MemoryRegistry } from './memory-registry';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

const lodashLayer = (version: string, extra: Record<string, string> = {}): ImageSpec['layers'][number] => ({
  files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version }), ...extra },
});

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

  test('a real attestation (unknown/unknown, in-toto layers) is skipped unread; look-alikes with filesystem layers are scanned', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1' } });
    const att = buildAttestation(amd);
    // The label says "attestation", the platform says runnable, the content is a vulnerable image (issue 8.1).
    const labelled = await buildImage({ layers: [lodashLayer('4.17.20', { a: '2' })], config: { User: '1' }, architecture: 'arm64' });
    // unknown/unknown, but with a filesystem layer: a runtime forced to that platform would run it.
    const unknown = await buildImage({ layers: [lodashLayer('4.17.19', { a: '1' })], config: { User: '1' }, os: 'unknown', architecture: 'unknown' });
    const annotations = { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.digest };
    const idx = customIndex([entry(amd), attestationEntry(att, amd), entry(labelled, { annotations }), entry(unknown, { annotations })], [amd, att, labelled, unknown]);
    const registry = new MemoryRegistry().addIndex(idx);
    const r = await scanIndex(registry, idx);
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => [f.id, f.installedVersion, f.platform]).sort()).toEqual([
      ['GHSA-35jh-r3h4-6jhm', '4.17.19', 'unknown/unknown'],
      ['GHSA-35jh-r3h4-6jhm', '4.17.20', 'linux/arm64'],
    ]);
    expect(registry.blobReads).not.toContain(att.layers[0]!.digest);
    expect(registry.blobReads).toEqual(expect.arrayContaining([labelled.layers[0]!.digest, unknown.layers[0]!.digest]));
  });

  test('a child behind a foreign descriptor media type is judged by its bytes: an image is scanned', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1' } });
    const hidden = await buildImage({ layers: [lodashLayer('4.17.20')], config: { User: '1' }, architecture: 'arm64' });
    const idx = customIndex([entry(amd), entry(hidden, { mediaType: 'application/vnd.example.not-an-image+json' })], [amd, hidden]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(byId(r, 'GHSA-35jh-r3h4-6jhm')).toEqual([['4.17.20', 'linux/arm64']]);
  });

  test.each([
    ['in-toto layers under a runnable platform', (s: BuiltImage) => buildAttestation(s, { platform: { os: 'linux', architecture: 'amd64' } }), 'layer media type application/vnd.in-toto+json'],
    ['an artifact layer under unknown/unknown', (s: BuiltImage) => buildAttestation(s, { layerType: 'application/vnd.example.sbom+json' }), 'layer media type application/vnd.example.sbom+json'],
  ])('%s is UNSCANNABLE_CHILD', async (_what, make, reason) => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1' } });
    const odd = make(amd);
    const idx = customIndex([entry(amd), entry(odd)], [amd, odd]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(r).toMatchObject({ status: 'failed', findings: [], error: { code: 'UNSCANNABLE_CHILD', message: expect.stringContaining(`child ${odd.digest}`) } });
    expect(r.error?.message).toContain(reason);
  });

  test('a child whose bytes are no manifest we know is UNSCANNABLE_CHILD', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1' } });
    const foreignBody = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', blobs: [] }));
    const foreign: BuiltImage = { ...amd, digest: sha256(foreignBody), manifest: foreignBody, mediaType: 'application/vnd.example.thing+json' };
    const idx = customIndex([entry(amd), { mediaType: 'application/vnd.example.thing+json', digest: foreign.digest, size: foreignBody.length, platform: { os: 'linux', architecture: 'arm64' } }], [amd, foreign]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'UNSCANNABLE_CHILD', message: expect.stringContaining('not an image manifest') } });
  });

  test('20,000 listings of one child: one manifest read, one scan, one platform', async () => {
    const img = await buildImage({ layers: [lodashLayer('4.17.20')], config: { User: '1' } });
    const idx = customIndex(Array.from({ length: 20_000 }, () => entry(img)), [img]);
    const registry = new MemoryRegistry().addIndex(idx);
    const r = await scanIndex(registry, idx);
    expect(r.status).toBe('succeeded');
    expect(registry.manifestReads.filter((d) => d === img.digest)).toHaveLength(1);
    expect(registry.blobReads.filter((d) => d === img.layers[0]!.digest)).toHaveLength(1);
    expect(byId(r, 'GHSA-35jh-r3h4-6jhm')).toEqual([['4.17.20', 'linux/amd64']]);
  });

  test('more distinct children than MAX_DISTINCT_CHILDREN fail before any child is read', async () => {
    const fake = Array.from({ length: MAX_DISTINCT_CHILDREN + 1 }, (_, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(`child ${i}`), size: 100, platform: { os: 'linux', architecture: 'amd64' },
    }));
    const idx = customIndex(fake, []);
    const registry = new MemoryRegistry().addIndex(idx);
    const r = await scanIndex(registry, idx);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining(`${MAX_DISTINCT_CHILDREN + 1} distinct children`) } });
    expect(registry.manifestReads).toEqual([idx.digest]);
  });

  test('an index of attestations only has nothing runnable to scan', async () => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.20')] });
    const att = buildAttestation(amd);
    const idx = customIndex([attestationEntry(att, amd)], [att]);
    const r = await scanIndex(new MemoryRegistry().addIndex(idx), idx);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_FAILED', message: expect.stringContaining('no runnable image') } });
  });

  test.each([
    ['declared as an index', OCI_INDEX],
    ['declared as an image but holding an index', 'application/vnd.oci.image.manifest.v1+json'],
  ])('a nested index (%s) is UNSCANNABLE_CHILD, not skipped', async (_what, mediaType) => {
    const amd = await buildImage({ layers: [lodashLayer('4.17.21')], config: { User: '1' } });
    const arm = await buildImage({ layers: [lodashLayer('4.17.20')], config: { User: '1' }, architecture: 'arm64' });
    const inner = buildIndex([arm]);
    const outer = customIndex([entry(amd), { mediaType, digest: inner.digest, size: inner.manifest.length }], [amd]);
    const registry = new MemoryRegistry().addIndex(inner).addIndex(outer);
    const r = await scanIndex(registry, outer);
    expect(r).toMatchObject({ status: 'failed', findings: [], error: { code: 'UNSCANNABLE_CHILD', message: expect.stringContaining(`child ${inner.digest}`) } });
    expect(r.error?.message).toContain('itself an image index');
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
