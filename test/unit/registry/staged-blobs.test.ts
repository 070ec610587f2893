/** The bounds of StagedBlobs (what is kept, for how long, for whom) and the verified copies it keeps. */
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StagedBlobs, type StagedCopy } from '../../../src/registry/staged-blobs';
import { DigestVerifier, VerifiedCopy } from '../../../src/registry/verify';

const digestOf = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Streams `data` (in two chunks) through a verifier of `digest` filling `copy`, as a copy's source read does. */
async function fill(copy: StagedCopy | VerifiedCopy, data: Buffer, digest = copy.digest, size = copy.size): Promise<unknown> {
  return pipeline(Readable.from([data.subarray(0, 3), data.subarray(3)], { objectMode: false }), new DigestVerifier(digest, size, copy),
    new Writable({ write: (_c, _e, cb) => cb() })).then(() => null, (err: unknown) => err);
}

/** A verified copy of `data`, reserved in `staged` for `repo`, and kept there. */
async function stage(staged: StagedBlobs, repo: string, data: Buffer): Promise<string> {
  const digest = digestOf(data);
  const copy = staged.reserve(repo, digest, data.length)!;
  expect(await fill(copy, data)).toBeNull();
  staged.keep(copy, repo, digest);
  return digest;
}

describe('VerifiedCopy', () => {
  it('is verified only once every byte came and the bytes copied in hash to the digest', async () => {
    const data = Buffer.from('0123456789');
    const good = new VerifiedCopy(digestOf(data), data.length);
    expect(good.verified).toBe(false);
    expect(() => good.bytes).toThrow(/not verified/);
    expect(await fill(good, data)).toBeNull();
    expect(good.verified).toBe(true);
    expect(good.bytes.equals(data)).toBe(true);

    const other = new VerifiedCopy(digestOf(Buffer.from('something else')), data.length);
    expect(await fill(other, data)).toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect(other.verified).toBe(false);
    expect(() => other.bytes).toThrow(/not verified/);

    const short = new VerifiedCopy(digestOf(data), data.length);
    short.append(data.subarray(0, 9));
    expect(short.seal()).toBe(digestOf(data.subarray(0, 9)));
    expect(short.verified).toBe(false);
  });

  it('is a copy: changing the chunks it was filled from after they passed does not change it', async () => {
    const data = Buffer.from('abcdefghij');
    const chunk = Buffer.from(data);
    const copy = new VerifiedCopy(digestOf(data), data.length);
    copy.append(chunk);
    chunk.fill(0);
    expect(copy.seal()).toBe(digestOf(data));
    expect(copy.bytes.equals(data)).toBe(true);
  });

  it('is filled from another verified copy of the same blob only: its own bytes, verified without a second hash', async () => {
    const data = Buffer.from('0123456789');
    const source = new VerifiedCopy(digestOf(data), data.length);
    const early = new VerifiedCopy(source.digest, data.length);
    expect(early.fillFrom(source)).toBe(false);
    expect(await fill(source, data)).toBeNull();
    const copy = new VerifiedCopy(source.digest, data.length);
    expect(copy.fillFrom(source)).toBe(true);
    expect(copy.verified).toBe(true);
    expect(copy.bytes.equals(data)).toBe(true);
    source.bytes.fill(0);
    expect(copy.bytes.equals(data)).toBe(true);
    expect(copy.fillFrom(source)).toBe(false);
    expect(new VerifiedCopy(digestOf(Buffer.from('other')), data.length).fillFrom(source)).toBe(false);
    expect(new VerifiedCopy(source.digest, 11).fillFrom(source)).toBe(false);
  });

  it('is not filled from a verified copy whose memory was transferred away (to a scan thread)', async () => {
    const data = Buffer.from('0123456789');
    const source = new VerifiedCopy(digestOf(data), data.length);
    expect(await fill(source, data)).toBeNull();
    const memory = source.bytes.buffer as ArrayBuffer;
    structuredClone(memory, { transfer: [memory] });
    expect(source.bytes.length).toBe(0);
    const copy = new VerifiedCopy(source.digest, data.length);
    expect(copy.fillFrom(source)).toBe(false);
    expect(copy.verified).toBe(false);
  });

  it('takes nothing more once sealed, and is sealed once', () => {
    const data = Buffer.from('abc');
    const copy = new VerifiedCopy(digestOf(data), 3);
    expect(copy.append(data)).toBe(true);
    expect(copy.seal()).toBe(digestOf(data));
    expect(copy.append(Buffer.from('x'))).toBe(false);
    expect(copy.verified).toBe(false);
    expect(copy.seal()).toBeNull();
    expect(copy.verified).toBe(false);
  });

  it('cannot be filled by a verifier of another blob or size', () => {
    const copy = new VerifiedCopy(digestOf(Buffer.from('abc')), 3);
    expect(() => new DigestVerifier(digestOf(Buffer.from('abd')), 3, copy)).toThrow(/cannot record/);
    expect(() => new DigestVerifier(copy.digest, 4, copy)).toThrow(/cannot record/);
  });
});

describe('StagedBlobs', () => {
  it('gives an uploaded blob back once, to its own repository only', async () => {
    const staged = new StagedBlobs();
    const digest = await stage(staged, 'quarantine/a', Buffer.from('0123456789'));
    expect(staged.bytes).toBe(10);
    expect(staged.take('quarantine/b', digest)).toBeUndefined();
    expect(staged.take('quarantine/a', digest)!.bytes.toString()).toBe('0123456789');
    expect(staged.take('quarantine/a', digest)).toBeUndefined();
    expect(staged.bytes).toBe(0);
  });

  it('a copy that cannot be made reserves nothing: the cap stays whole for the next upload', () => {
    const staged = new StagedBlobs({ maxBlobBytes: 100, maxTotalBytes: 100 });
    // An algorithm it cannot hash: the copy's constructor throws.
    expect(() => staged.reserve('r', `md5:${'0'.repeat(32)}`, 100)).toThrow(/unsupported digest algorithm/);
    const next = staged.reserve('r', digestOf(Buffer.alloc(100)), 100);
    expect(next).not.toBeNull();
    next!.release();
  });

  it('keeps nothing of a copy that is not verified: bytes short, over, or not hashing to the digest', async () => {
    const staged = new StagedBlobs();
    const data = Buffer.from('0123456789');
    const digest = digestOf(data);
    const short = staged.reserve('r', digest, 10)!;
    expect(await fill(short, data.subarray(0, 9))).toMatchObject({ code: 'DIGEST_MISMATCH' });
    staged.keep(short, 'r', digest);
    const long = staged.reserve('r', digest, 10)!;
    expect(await fill(long, Buffer.concat([data, Buffer.from('A')]))).toMatchObject({ code: 'DIGEST_MISMATCH' });
    staged.keep(long, 'r', digest);
    const wrong = staged.reserve('r', digest, 10)!;
    expect(await fill(wrong, Buffer.from('9876543210'))).toMatchObject({ code: 'DIGEST_MISMATCH' });
    staged.keep(wrong, 'r', digest);
    // Reserved, never filled (its source read never ran).
    const empty = staged.reserve('r', digest, 10)!;
    staged.keep(empty, 'r', digest);
    expect(staged.bytes).toBe(0);
    expect(staged.recordingBytes).toBe(0);
    expect(staged.take('r', digest)).toBeUndefined();
  });

  it('keeps a verified copy only for the repository and digest it was reserved for, and only from itself', async () => {
    const staged = new StagedBlobs();
    const data = Buffer.from('0123456789');
    const digest = digestOf(data);
    const copy = staged.reserve('quarantine/a', digest, 10)!;
    expect(await fill(copy, data)).toBeNull();
    staged.keep(copy, 'quarantine/b', digest);
    expect(staged.take('quarantine/b', digest)).toBeUndefined();
    expect(staged.take('quarantine/a', digest)).toBeUndefined();
    // A copy reserved by another StagedBlobs is not kept here, and does not touch this one's reservations.
    const other = new StagedBlobs().reserve('quarantine/a', digest, 10)!;
    expect(await fill(other, data)).toBeNull();
    staged.keep(other, 'quarantine/a', digest);
    staged.release(other);
    expect(staged.take('quarantine/a', digest)).toBeUndefined();
    expect(staged.recordingBytes).toBe(0);
  });

  it('does not reserve for a blob over the size bound, and holds no more than the total, oldest out first', async () => {
    const staged = new StagedBlobs({ maxBlobBytes: 10, maxTotalBytes: 25 });
    expect(staged.reserve('r', 'sha256:big', 11)).toBeNull();
    expect(staged.reserve('r', 'sha256:empty', 0)).toBeNull();
    const digests: string[] = [];
    for (const d of ['a', 'b', 'c']) digests.push(await stage(staged, 'r', Buffer.alloc(10, d)));
    expect(staged.bytes).toBe(20);
    expect(staged.take('r', digests[0])).toBeUndefined();
    expect(staged.take('r', digests[1])?.size).toBe(10);
    expect(staged.take('r', digests[2])?.size).toBe(10);
  });

  it('counts uploads still running against the total: one that finds no room is not recorded', async () => {
    const staged = new StagedBlobs({ maxBlobBytes: 10, maxTotalBytes: 25 });
    const dataA = Buffer.alloc(10, 'a');
    const a = staged.reserve('r', digestOf(dataA), 10)!;
    const b = staged.reserve('r', 'sha256:b', 10)!;
    expect(staged.recordingBytes).toBe(20);
    // A third concurrent upload of 10 would hold 30 bytes in all.
    expect(staged.reserve('r', 'sha256:c', 10)).toBeNull();
    expect(staged.reserve('r', 'sha256:d', 5)).not.toBeNull();
    expect(await fill(a, dataA)).toBeNull();
    staged.keep(a, 'r', a.digest);
    expect(staged.bytes).toBe(10);
    expect(staged.recordingBytes).toBe(15);
    // b's upload failed: its room comes back, and nothing of it is kept (a second release is harmless).
    b.release();
    b.release();
    expect(staged.recordingBytes).toBe(5);
    expect(staged.take('r', 'sha256:b')).toBeUndefined();
    expect(staged.reserve('r', 'sha256:c', 10)).not.toBeNull();
    expect(staged.bytes + staged.recordingBytes).toBeLessThanOrEqual(25);
  });

  it('makes room for an upload starting by dropping the oldest kept blobs', async () => {
    const staged = new StagedBlobs({ maxBlobBytes: 10, maxTotalBytes: 25 });
    const a = await stage(staged, 'r', Buffer.alloc(10, 'a'));
    const b = await stage(staged, 'r', Buffer.alloc(10, 'b'));
    expect(staged.reserve('r', 'sha256:c', 10)).not.toBeNull();
    expect(staged.bytes + staged.recordingBytes).toBeLessThanOrEqual(25);
    expect(staged.take('r', a)).toBeUndefined();
    expect(staged.take('r', b)?.size).toBe(10);
  });

  it('counts reads served from memory and reads that were not', async () => {
    const staged = new StagedBlobs();
    const x = await stage(staged, 'r', Buffer.from('abcd'));
    staged.take('r', x);
    staged.take('r', x);
    staged.take('other', x);
    expect(staged.reads).toEqual({ hits: 1, misses: 2 });
  });

  it('drops entries whose time to live ended while nothing used it (an idle worker holds no staged bytes)', async () => {
    jest.useFakeTimers();
    try {
      const staged = new StagedBlobs({ ttlMs: 1000 });
      await stage(staged, 'r', Buffer.from('abcd'));
      jest.advanceTimersByTime(600);
      await stage(staged, 'r', Buffer.from('efghij'));
      expect(staged.bytes).toBe(10);
      // No take, reserve or keep from here on: the first entry goes at its TTL, the second at its own.
      jest.advanceTimersByTime(401);
      expect(staged.bytes).toBe(6);
      jest.advanceTimersByTime(600);
      expect(staged.bytes).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('drops an entry not read within its time to live', async () => {
    let now = 1000;
    const staged = new StagedBlobs({ ttlMs: 500, now: () => now });
    const x = await stage(staged, 'r', Buffer.from('abcd'));
    now += 501;
    expect(staged.take('r', x)).toBeUndefined();
    expect(staged.bytes).toBe(0);
  });
});
