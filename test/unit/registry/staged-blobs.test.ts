/** The bounds of StagedBlobs: what is kept, for how long, and for whom. */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StagedBlobs, type BlobRecorder } from '../../../src/registry/staged-blobs';

async function record(rec: BlobRecorder, data: Buffer): Promise<void> {
  await pipeline(Readable.from([data.subarray(0, 3), data.subarray(3)], { objectMode: false }), rec, new Writable({ write: (_c, _e, cb) => cb() }));
}

describe('StagedBlobs', () => {
  it('gives an uploaded blob back once, to its own repository only', async () => {
    const staged = new StagedBlobs();
    const rec = staged.recorder('quarantine/a', 'sha256:aa', 10)!;
    await record(rec, Buffer.from('0123456789'));
    staged.keep(rec);
    expect(staged.bytes).toBe(10);
    expect(staged.take('quarantine/b', 'sha256:aa')).toBeUndefined();
    expect(Buffer.concat(staged.take('quarantine/a', 'sha256:aa')!.chunks).toString()).toBe('0123456789');
    expect(staged.take('quarantine/a', 'sha256:aa')).toBeUndefined();
    expect(staged.bytes).toBe(0);
  });

  it('keeps nothing of a blob whose byte count is not the announced size', async () => {
    const staged = new StagedBlobs();
    const short = staged.recorder('r', 'sha256:short', 10)!;
    await record(short, Buffer.from('012345678'));
    staged.keep(short);
    const long = staged.recorder('r', 'sha256:long', 10)!;
    await record(long, Buffer.from('0123456789A'));
    staged.keep(long);
    expect(staged.bytes).toBe(0);
    expect(staged.take('r', 'sha256:short')).toBeUndefined();
    expect(staged.take('r', 'sha256:long')).toBeUndefined();
  });

  it('does not record a blob over the size bound, and holds no more than the total, oldest out first', async () => {
    const staged = new StagedBlobs({ maxBlobBytes: 10, maxTotalBytes: 25 });
    expect(staged.recorder('r', 'sha256:big', 11)).toBeNull();
    expect(staged.recorder('r', 'sha256:empty', 0)).toBeNull();
    for (const d of ['a', 'b', 'c']) {
      const rec = staged.recorder('r', `sha256:${d}`, 10)!;
      await record(rec, Buffer.alloc(10, d));
      staged.keep(rec);
    }
    expect(staged.bytes).toBe(20);
    expect(staged.take('r', 'sha256:a')).toBeUndefined();
    expect(staged.take('r', 'sha256:b')?.size).toBe(10);
    expect(staged.take('r', 'sha256:c')?.size).toBe(10);
  });

  it('counts uploads still running against the total: one that finds no room is not recorded', async () => {
    const staged = new StagedBlobs({ maxBlobBytes: 10, maxTotalBytes: 25 });
    const a = staged.recorder('r', 'sha256:a', 10)!;
    const b = staged.recorder('r', 'sha256:b', 10)!;
    expect(staged.recordingBytes).toBe(20);
    // A third concurrent upload of 10 would hold 30 bytes in all.
    expect(staged.recorder('r', 'sha256:c', 10)).toBeNull();
    expect(staged.recorder('r', 'sha256:d', 5)).not.toBeNull();
    await record(a, Buffer.alloc(10, 'a'));
    staged.keep(a);
    expect(staged.bytes).toBe(10);
    expect(staged.recordingBytes).toBe(15);
    // b's upload failed: its room comes back, and nothing of it is kept (a second release is harmless).
    staged.release(b);
    staged.release(b);
    expect(staged.recordingBytes).toBe(5);
    expect(staged.take('r', 'sha256:b')).toBeUndefined();
    expect(staged.recorder('r', 'sha256:c', 10)).not.toBeNull();
    expect(staged.bytes + staged.recordingBytes).toBeLessThanOrEqual(25);
  });

  it('makes room for an upload starting by dropping the oldest kept blobs', async () => {
    const staged = new StagedBlobs({ maxBlobBytes: 10, maxTotalBytes: 25 });
    for (const d of ['a', 'b']) {
      const rec = staged.recorder('r', `sha256:${d}`, 10)!;
      await record(rec, Buffer.alloc(10, d));
      staged.keep(rec);
    }
    const c = staged.recorder('r', 'sha256:c', 10)!;
    expect(c).not.toBeNull();
    expect(staged.bytes + staged.recordingBytes).toBeLessThanOrEqual(25);
    expect(staged.take('r', 'sha256:a')).toBeUndefined();
    expect(staged.take('r', 'sha256:b')?.size).toBe(10);
  });

  it('counts reads served from memory and reads that were not', async () => {
    const staged = new StagedBlobs();
    const rec = staged.recorder('r', 'sha256:x', 4)!;
    await record(rec, Buffer.from('abcd'));
    staged.keep(rec);
    staged.take('r', 'sha256:x');
    staged.take('r', 'sha256:x');
    staged.take('other', 'sha256:x');
    expect(staged.reads).toEqual({ hits: 1, misses: 2 });
  });

  it('drops an entry not read within its time to live', async () => {
    let now = 1000;
    const staged = new StagedBlobs({ ttlMs: 500, now: () => now });
    const rec = staged.recorder('r', 'sha256:x', 4)!;
    await record(rec, Buffer.from('abcd'));
    staged.keep(rec);
    now += 501;
    expect(staged.take('r', 'sha256:x')).toBeUndefined();
    expect(staged.bytes).toBe(0);
  });
});
