/**
 * zstd layers, compressed by the real `zstd` tool (Debian's zstd package), read through the
 * builtin scanner's layer reader and scanned end to end.
 */
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { MergedFilesystem } from '../../../../src/scanners/builtin/filesystem';
import { readLayer } from '../../../../src/scanners/builtin/layer-reader';
import { DEFAULT_LIMITS, newBudget } from '../../../../src/scanners/builtin/limits';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import { frameWindow } from '../../../../src/scanners/builtin/zstd';
import { buildImage, tarOf } from '../../../harness/images';
import { debianAppImage } from './images';
import { MemoryRegistry } from './memory-registry';
import path from 'node:path';

const zstd = (data: Buffer, ...args: string[]): Buffer => execFileSync('zstd', ['-q', '-c', ...args], { input: data, maxBuffer: 1024 * 1024 * 1024 });
const read = (blob: Buffer, limits = DEFAULT_LIMITS) =>
  readLayer(Readable.from([blob.subarray(0, 3), blob.subarray(3, 50), blob.subarray(50)].filter((b) => b.length > 0)), 'sha256:z', new MergedFilesystem(), limits, newBudget());

describe('zstd layers', () => {
  test('a zstd layer is read like a gzip one (chunks split inside the frame header)', async () => {
    const tar = await tarOf({ 'etc/os-release': 'ID=alpine\nVERSION_ID=3.20.1\n', 'usr/bin/x': { content: 'x', mode: 0o4755 } });
    const layer = await read(zstd(tar, '-19'));
    expect(layer.facts.get('etc/os-release')?.osRelease).toEqual({ ID: 'alpine', VERSION_ID: '3.20.1' });
    expect(layer.facts.get('usr/bin/x')?.setuidMode).toBe(0o4755);
  });

  test('several frames (as pzstd and zstd -T write them) are one stream', async () => {
    const a = await tarOf({ 'etc/os-release': 'ID=alpine\nVERSION_ID=3.20.1\n' });
    // A tar stream cut in two and compressed as two frames.
    const cut = 512;
    const layer = await read(Buffer.concat([zstd(a.subarray(0, cut)), zstd(a.subarray(cut))]));
    expect(layer.facts.get('etc/os-release')?.osRelease?.ID).toBe('alpine');
  });

  test('a zstd bomb stops at the scan\'s byte limit', async () => {
    const tar = await tarOf({ 'zeros.bin': Buffer.alloc(64 * 1024 * 1024) });
    const blob = zstd(tar, '-19');
    expect(blob.length).toBeLessThan(64 * 1024);
    await expect(read(blob, { ...DEFAULT_LIMITS, maxTotalBytes: 8 * 1024 * 1024 })).rejects.toMatchObject({ code: 'SCAN_LIMIT_EXCEEDED' });
  });

  test('a frame asking for a window over 128 MiB is refused before anything is allocated', async () => {
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (31 - 10) << 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(frameWindow(header)).toBe(2 ** 31);
    await expect(read(header)).rejects.toMatchObject({ code: 'SCAN_FAILED', message: expect.stringContaining('window') });
    // What the real tool writes for an ordinary layer is within the limit.
    expect(frameWindow(zstd(Buffer.alloc(10 * 1024 * 1024, 1)))).toBeLessThanOrEqual(128 * 1024 * 1024);
  });

  test('truncated zstd data fails the layer with SCAN_FAILED', async () => {
    const blob = zstd(await tarOf({ 'etc/os-release': 'ID=alpine\n' }));
    await expect(read(blob.subarray(0, blob.length - 20))).rejects.toMatchObject({ code: 'SCAN_FAILED' });
  });

  test('an image whose layers are zstd is scanned end to end with the same findings as gzip', async () => {
    const osv = path.join(__dirname, '../../../../test/fixtures/osv/db');
    const ids = async (raw: boolean) => {
      const layers = await Promise.all(debianAppImage.layers.map(async (l) => (raw ? { files: {}, raw: zstd(await tarOf(l.files)), uncompressed: true } : l)));
      const img = await buildImage({ ...debianAppImage, layers });
      const registry = new MemoryRegistry().addImage(img);
      const r = await new BuiltinScanner({ name: 'b', osvPath: osv }).scan({ registry, repository: 'q/z', digest: img.digest, registryUrl: registry.url });
      expect(r.status).toBe('succeeded');
      return r.findings.map((f) => `${f.id} ${f.package}`).sort();
    };
    const gzip = await ids(false);
    expect(gzip.length).toBeGreaterThan(0);
    expect(await ids(true)).toEqual(gzip);
  });
});
