import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MergedFilesystem } from '../../../../src/scanners/builtin/filesystem';
import { readLayer } from '../../../../src/scanners/builtin/layer-reader';
import { DEFAULT_LIMITS, newBudget } from '../../../../src/scanners/builtin/limits';
import { tarOf } from '../../../harness/images';

/** Streams `data` in the given chunk sizes, then the rest at once. */
function chunked(data: Buffer, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  let at = 0;
  for (const n of sizes) {
    parts.push(data.subarray(at, at + n));
    at += n;
  }
  parts.push(data.subarray(at));
  return Readable.from(parts.filter((p) => p.length > 0));
}

describe('readLayer', () => {
  const files = { 'etc/os-release': 'ID=alpine\nVERSION_ID=3.20.1\n', 'usr/bin/x': { content: 'x', mode: 0o4755 } };

  test.each([
    ['gzip, first chunks of 1 byte', true, [1, 1, 1, 5]],
    ['gzip, one chunk', true, []],
    ['plain tar, first chunks of 1 byte', false, [1, 2]],
  ])('%s', async (_what, gzip, sizes) => {
    const tar = await tarOf(files);
    const layer = await readLayer(chunked(gzip ? gzipSync(tar) : tar, sizes), 'sha256:l', new MergedFilesystem(), DEFAULT_LIMITS, newBudget());
    expect(layer.facts.get('etc/os-release')?.osRelease).toEqual({ ID: 'alpine', VERSION_ID: '3.20.1' });
    expect(layer.facts.get('usr/bin/x')?.setuidMode).toBe(0o4755);
  });

  test('bytes that start like zstd but are not a zstd stream are refused, naming zstd', async () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    await expect(readLayer(chunked(zstd, [1, 1]), 'sha256:l', new MergedFilesystem(), DEFAULT_LIMITS, newBudget()))
      .rejects.toMatchObject({ code: 'SCAN_FAILED', message: expect.stringContaining('zstd') });
  });

  test('a later layer that rewrites a tracked file without the setuid bit clears it', async () => {
    const fs = new MergedFilesystem();
    const budget = newBudget();
    fs.apply(await readLayer(Readable.from([await tarOf(files)]), 'sha256:a', fs, DEFAULT_LIMITS, budget));
    expect(fs.get('usr/bin/x')?.setuidMode).toBe(0o4755);
    fs.apply(await readLayer(Readable.from([await tarOf({ 'usr/bin/x': 'y' })]), 'sha256:b', fs, DEFAULT_LIMITS, budget));
    expect(fs.get('usr/bin/x')).toBeUndefined();
    expect(budget.entries).toBe(3);
  });
});
