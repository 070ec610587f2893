/**
 * Builtin scans run in a pool of worker threads (issues 8.2 and 17.2): a scan that outgrows a
 * thread's heap fails alone with SCAN_LIMIT_EXCEEDED and the pool goes on with a fresh thread;
 * concurrent scans share the threads without mixing their bytes; a registry fault while a layer
 * streams ends the scan with that fault.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AppError } from '../../../../src/lib/errors';
import { BuiltinScanner } from '../../../../src/scanners/builtin/adapter';
import { FeedWindow, ScanThreadPool, WINDOW_BYTES } from '../../../../src/scanners/builtin/threads/pool';
import { WINDOW } from '../../../../src/scanners/builtin/threads/protocol';
import type { ScanReport } from '../../../../src/scanners/types';
import { buildImage, type BuiltImage } from '../../../harness/images';
import { MemoryRegistry } from './memory-registry';
import type { WholeBlob } from '../../../../src/registry/types';

const OSV = path.join(__dirname, '../../../fixtures/osv/db');
const lodash = (version: string, extra: Record<string, string> = {}) => buildImage({
  layers: [{ files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version }), ...extra } }], config: { User: '1' },
});

function scan(scanner: BuiltinScanner, img: BuiltImage, registry = new MemoryRegistry().addImage(img)): Promise<ScanReport> {
  return scanner.scan({ registry, repository: 'r', digest: img.digest, registryUrl: registry.url });
}

/** Serves blobs that fail with `err` after their first chunk. */
class FailingRegistry extends MemoryRegistry {
  constructor(private readonly err: Error) { super(); }
  override async getBlob(repo: string, digest: string): Promise<Readable> {
    const inner = await super.getBlob(repo, digest);
    const err = this.err;
    return Readable.from((async function* () {
      for await (const chunk of inner) {
        yield chunk as Buffer;
        throw err;
      }
    })());
  }
}

/** Serves each blob as a staged blob is served: a stream that can give its whole buffer away (WholeBlob). */
class WholeBlobRegistry extends MemoryRegistry {
  /** The buffers handed over whole. */
  readonly given: Buffer[] = [];
  override async getBlob(repo: string, digest: string): Promise<Readable> {
    const inner = await super.getBlob(repo, digest);
    const chunks: Buffer[] = [];
    for await (const c of inner) chunks.push(c as Buffer);
    // Its own ArrayBuffer, as a staged copy has (Buffer.allocUnsafeSlow).
    const whole = Buffer.allocUnsafeSlow(chunks.reduce((n, c) => n + c.length, 0));
    Buffer.concat(chunks).copy(whole);
    const stream = Readable.from([whole]) as Readable & WholeBlob;
    stream.takeWhole = () => {
      this.given.push(whole);
      return whole;
    };
    return stream;
  }
}

describe('scan threads', () => {
  const pools: ScanThreadPool[] = [];
  const pool = (size: number, memoryMb?: number, timeoutMs?: number): ScanThreadPool => {
    const p = new ScanThreadPool({ size, memoryMb, timeoutMs });
    pools.push(p);
    return p;
  };
  afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

  test('a scan that outgrows the thread heap fails alone with SCAN_LIMIT_EXCEEDED; the pool then scans on', async () => {
    // 1.5 million package records, with every explicit bound lifted: only the heap limit is left.
    const status = Array.from({ length: 1_500_000 }, (_, i) => `Package: p${i}\nVersion: 1\n`).join('\n');
    const bomb = await buildImage({ layers: [{ files: { 'etc/os-release': 'ID=debian\nVERSION_ID=12\n', 'var/lib/dpkg/status': status } }] });
    const threads = pool(1, 48);
    const limits = { maxPackages: 1e9, maxDatabaseEntries: 1e9, maxMetadataBytes: 1e12 };
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads, limits });
    const r = await scan(scanner, bomb);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('48 MiB') } });
    const ok = await scan(scanner, await lodash('4.17.20'));
    expect(ok.status).toBe('succeeded');
    expect(ok.findings.map((f) => f.id)).toEqual(['GHSA-35jh-r3h4-6jhm']);
    expect(threads.threadCount).toBe(1);
  });

  test('a scan past worker.scanTimeoutMs fails alone with SCAN_LIMIT_EXCEEDED, its thread stopped and replaced; the pool then scans on', async () => {
    const threads = pool(1, undefined, 1000);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    const img = await lodash('4.17.20');
    // Its layer never comes (the config does): the task would wait for ever without the deadline.
    const layers = new Set(img.layers.map((l) => l.digest));
    const stuck = new (class extends MemoryRegistry {
      override getBlob(repo: string, digest: string): Promise<Readable> { return layers.has(digest) ? new Promise(() => undefined) : super.getBlob(repo, digest); }
    })().addImage(img);
    const r = await scan(scanner, img, stuck);
    expect(r).toMatchObject({ status: 'failed', error: { code: 'SCAN_LIMIT_EXCEEDED', message: expect.stringContaining('worker.scanTimeoutMs') } });
    const ok = await scan(scanner, await lodash('4.17.20'));
    expect(ok.status).toBe('succeeded');
    expect(ok.findings.map((f) => f.id)).toEqual(['GHSA-35jh-r3h4-6jhm']);
    expect(threads.threadCount).toBe(1);
  });

  test('concurrent scans share two threads and each gets its own findings', async () => {
    const threads = pool(2);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    const versions = ['4.17.20', '4.17.21', '4.17.19', '4.17.21', '4.17.20', '4.17.15'];
    const images = await Promise.all(versions.map((v, i) => lodash(v, { [`pad/${i}`]: 'x'.repeat(200_000 * (i + 1)) })));
    const reports = await Promise.all(images.map((img) => scan(scanner, img)));
    expect(reports.map((r) => r.status)).toEqual(versions.map(() => 'succeeded'));
    const installed = reports.map((r) => r.findings.find((f) => f.package === 'lodash')?.installedVersion ?? 'none');
    expect(installed).toEqual(['4.17.20', 'none', '4.17.19', 'none', '4.17.20', '4.17.15']);
    expect(threads.threadCount).toBeLessThanOrEqual(2);
  });

  test('warm starts every thread before any scan, and the scans that follow run on those threads', async () => {
    const threads = pool(2);
    expect(threads.threadCount).toBe(0);
    await threads.warm();
    expect(threads.threadCount).toBe(2);
    // Warm again: a full pool starts nothing more.
    await threads.warm();
    expect(threads.threadCount).toBe(2);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    const reports = await Promise.all(['4.17.20', '4.17.21', '4.17.19'].map(async (v) => scan(scanner, await lodash(v))));
    expect(reports.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(reports[0].findings.map((f) => f.id)).toEqual(['GHSA-35jh-r3h4-6jhm']);
    expect(threads.threadCount).toBe(2);
  });

  test('block buffers go back to the pool with each result: the next scans allocate none and read their own bytes', async () => {
    const threads = pool(1);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    // Incompressible padding: several 1 MiB blocks per image, over two layers.
    const image = (v: string) => buildImage({ layers: [
      { files: { 'pad/a.bin': randomBytes(2_500_000) } },
      { files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: v }), 'pad/b.bin': randomBytes(1_500_000) } },
    ], config: { User: '1' } });
    const first = await scan(scanner, await image('4.17.20'));
    expect(first.findings.map((f) => f.installedVersion)).toEqual(['4.17.20']);
    const made = threads.blocks.allocated;
    expect(made).toBeGreaterThanOrEqual(4);
    for (const v of ['4.17.21', '4.17.19']) {
      const r = await scan(scanner, await image(v));
      expect(r.status).toBe('succeeded');
      // Reused blocks carry the previous image's bytes past each block's length: none may leak in.
      expect(r.findings.map((f) => f.installedVersion)).toEqual(v === '4.17.21' ? [] : ['4.17.19']);
    }
    expect(threads.blocks.allocated).toBe(made);
  });

  test('a thread hands back at most a window of blocks, whatever the image size (memory does not grow with the image)', async () => {
    const threads = pool(4);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    // Incompressible: about 12 blocks of 1 MiB, more than one window (8) and fewer than the spares the pool may keep (32).
    const big = await buildImage({ layers: [{ files: { 'pad/a.bin': randomBytes(12 * 1024 * 1024), 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }) } }], config: { User: '1' } });
    const r = await scan(scanner, big);
    expect(r.findings.map((f) => f.installedVersion)).toEqual(['4.17.20']);
    expect(threads.blocks.allocated).toBeGreaterThan(WINDOW);
    expect(threads.blocks.spares).toBeLessThanOrEqual(WINDOW);
  });

  test('a layer that is in memory whole goes to the thread as its buffer (transferred, no block copies) and is read as streamed bytes are', async () => {
    const threads = pool(1);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    const img = await buildImage({ layers: [
      { files: { 'pad/a.bin': randomBytes(2_500_000) } },
      { files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }), 'pad/b.bin': randomBytes(1_500_000) } },
    ], config: { User: '1' } });
    const registry = new WholeBlobRegistry().addImage(img);
    const r = await scan(scanner, img, registry);
    expect(r.findings.map((f) => f.installedVersion)).toEqual(['4.17.20']);
    // Both layers went over whole: their buffers now belong to the thread (detached here), and no block was filled.
    expect(registry.given).toHaveLength(img.layers.length);
    expect(registry.given.every((b) => b.buffer.byteLength === 0)).toBe(true);
    expect(threads.blocks.allocated).toBe(0);
    // The same image streamed in blocks gives the same report.
    const streamed = await scan(scanner, img);
    expect(streamed.findings).toEqual(r.findings);
    expect(threads.blocks.allocated).toBeGreaterThan(0);
  });

  test('a task never has more in flight to its thread than the larger of a window and one whole layer, whole layers included', async () => {
    const threads = pool(1);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    // Layers the thread takes a while to read (incompressible, gunzipped piece by piece), each
    // arriving whole at once: sent as soon as taken, three of them (9 MB) would be in flight.
    const img = await buildImage({ layers: [
      ...Array.from({ length: 3 }, (_, i) => ({ files: { [`pad/${i}.bin`]: randomBytes(3_000_000) } })),
      { files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }) } },
    ], config: { User: '1' } });
    const registry = new WholeBlobRegistry().addImage(img);
    const inFlightBytes: number[] = [];
    const acquire = FeedWindow.prototype.acquire;
    const spy = jest.spyOn(FeedWindow.prototype, 'acquire').mockImplementation(async function (this: FeedWindow, bytes: number) {
      const ok = await acquire.call(this, bytes);
      inFlightBytes.push(this.inFlightBytes);
      return ok;
    });
    try {
      const r = await scan(scanner, img, registry);
      expect(r.findings.map((f) => f.installedVersion)).toEqual(['4.17.20']);
    } finally {
      spy.mockRestore();
    }
    expect(registry.given).toHaveLength(img.layers.length);
    expect(inFlightBytes).toHaveLength(img.layers.length);
    const largest = Math.max(...img.layers.map((l) => l.size));
    expect(Math.max(...inFlightBytes)).toBeLessThanOrEqual(Math.max(WINDOW_BYTES, largest));
  });

  test('the feed window: blocks up to WINDOW in flight; a whole layer when nothing is, or when it fits beside what is; closing frees a waiting sender', async () => {
    const flow = new FeedWindow();
    const MiB = 1024 * 1024;
    const settledNow = async (p: Promise<boolean>): Promise<boolean | 'waiting'> => Promise.race([p, new Promise<'waiting'>((r) => setImmediate(() => r('waiting')))]);
    for (let i = 0; i < WINDOW; i += 1) expect(await flow.acquire(MiB)).toBe(true);
    const block = flow.acquire(MiB);
    expect(await settledNow(block)).toBe('waiting');
    flow.ack();
    expect(await settledNow(block)).toBe(true);
    for (let i = 0; i < WINDOW - 1; i += 1) flow.ack();
    expect(flow.inFlight).toBe(1);
    // A whole layer that fits beside the block in flight goes at once; one that does not waits for it.
    expect(await flow.acquire(WINDOW_BYTES - MiB)).toBe(true);
    flow.ack();
    flow.ack();
    expect(await flow.acquire(MiB)).toBe(true);
    const big = flow.acquire(WINDOW_BYTES * 4);
    expect(await settledNow(big)).toBe('waiting');
    flow.ack();
    // Alone, a layer bigger than the window goes; nothing else goes beside it until it is taken.
    expect(await settledNow(big)).toBe(true);
    expect(flow.inFlightBytes).toBe(WINDOW_BYTES * 4);
    const next = flow.acquire(MiB);
    expect(await settledNow(next)).toBe('waiting');
    flow.close();
    expect(await next).toBe(false);
  });

  test('warm starts as many threads as asked (the rest on first use) and fails when a thread cannot load its code', async () => {
    const threads = pool(3);
    await threads.warm(1);
    expect(threads.threadCount).toBe(1);
    // A heap far too small for the scan code: the thread dies while loading, and warm says so.
    const starved = pool(1, 2);
    await expect(starved.warm()).rejects.toThrow(/stopped while loading their code \(heap limit 2 MiB\)/);
  });

  test('layers that arrive whole while an earlier one is still being parsed are read to the end (every block acknowledged)', async () => {
    const threads = pool(1);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    // A slow layer (a large dpkg database to parse), then a small one that arrives complete, with
    // its end, before the thread reads it: its blocks must still count as taken, or the sender's
    // window shrinks with each such layer until the scan stalls.
    const status = Array.from({ length: 40_000 }, (_, i) => `Package: p${i}\nStatus: install ok installed\nVersion: 1.${i}\n`).join('\n');
    const layers = Array.from({ length: 4 }, (_, i) => [
      { files: { [`var/lib/dpkg/status.d/s${i}`]: status } },
      { files: { [`data/${i}.bin`]: randomBytes(1536 * 1024) } },
    ]).flat();
    layers.push({ files: { 'app/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }) } });
    // Debian's os-release: a dpkg database without one is an unscanned OS (a coverage finding).
    layers.unshift({ files: { 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n' } } as (typeof layers)[number]);
    const img = await buildImage({ layers, config: { User: '1' } });
    const r = await scan(scanner, img);
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => f.id)).toEqual(['GHSA-35jh-r3h4-6jhm']);
  });

  test('a registry fault while a layer streams ends the scan with that fault: permanent → failed report, temporary → thrown', async () => {
    const threads = pool(1);
    const scanner = new BuiltinScanner({ name: 'b', osvPath: OSV, threads });
    const img = await lodash('4.17.20', { big: 'y'.repeat(3_000_000) });
    const mismatch = new FailingRegistry(new AppError('DIGEST_MISMATCH', 'blob digest differs')).addImage(img);
    expect(await scan(scanner, img, mismatch)).toMatchObject({ status: 'failed', error: { code: 'DIGEST_MISMATCH' } });
    const down = new FailingRegistry(new AppError('REGISTRY_UNAVAILABLE', 'reset', { temporary: true })).addImage(img);
    await expect(scan(scanner, img, down)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE', temporary: true });
    expect((await scan(scanner, img)).status).toBe('succeeded');
  });
});
