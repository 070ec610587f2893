import { Readable } from 'node:stream';
import { readCapped } from '../../../../src/scanners/builtin/read-capped';

describe('readCapped', () => {
  test('returns the whole body at or under the cap', async () => {
    const body = await readCapped(Readable.from([Buffer.from('abc'), Buffer.from('de')]), 5, 'x');
    expect(body.toString()).toBe('abcde');
  });

  test('fails with SCAN_LIMIT_EXCEEDED past the cap and stops reading the stream', async () => {
    let pulled = 0;
    const stream = Readable.from(
      (function* chunks() {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(1024);
        }
      })(),
    );
    await expect(readCapped(stream, 4096, 'image config')).rejects.toMatchObject({
      code: 'SCAN_LIMIT_EXCEEDED',
      message: 'image config exceeds 4096 bytes',
    });
    expect(stream.destroyed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });
});
