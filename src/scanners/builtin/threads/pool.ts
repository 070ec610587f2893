/**
 * A pool of scan threads (node:worker_threads), shared by every builtin scan of the process
 * (issue 17.2: scans off the event loop, on every core; issue 8.2: a runaway scan fails alone).
 *
 * What runs where, and why:
 * - In the thread: layer decompression, tar parsing, the package-database parsers, the merged
 *   filesystem view and the hardening checks. That is the CPU of a scan and everything whose
 *   memory an image controls, so it sits behind the thread's heap limit
 *   (`resourceLimits.maxOldGenerationSizeMb`): a scan that outgrows it is stopped by V8 with
 *   ERR_WORKER_OUT_OF_MEMORY, its task fails with SCAN_LIMIT_EXCEEDED (not retried: the same
 *   image would do it again) and the pool starts a fresh thread. The process lives on. A task
 *   that runs past its deadline (`worker.scanTimeoutMs`) is stopped the same way: its thread is
 *   terminated, whatever it is stuck in (a parser's loop, a synchronous call no signal reaches),
 *   so no hostile image holds a thread, and with them every builtin scan, for ever.
 * - In the main thread: registry HTTP (the client holds the connection pools, the token cache
 *   and credentials, and verifies every blob's digest as it streams), reading manifests and
 *   configs, and OSV matching against the database, which is loaded once per process rather
 *   than once per thread (it is the largest thing a scanner holds, and read-only).
 *
 * Bytes move as 1 MiB blocks whose ArrayBuffers are transferred, not copied, with at most
 * {@link WINDOW} blocks in flight per task: memory per task stays flat whatever the layer size.
 * A layer already in memory whole (a staged blob, src/registry/staged-blobs.ts, bounded by its
 * own cap) is transferred as one message instead, when nothing else of the task is in flight or
 * it fits in the window's bytes beside what is ({@link FeedWindow}: a task holds no more than
 * the larger of a window and one whole layer in the thread, and the next one taken): copying it
 * into blocks on the main thread cost about as much main-thread CPU as the scan work the threads
 * took off it (issue 17).
 * A task waits for a free thread; threads start on first use, or all at once by {@link ScanThreadPool.warm}
 * (a worker process does, at start), and are unref'd, so an idle pool never keeps a process alive.
 */
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { availableCores } from '../../../lib/cpus';
import { AppError, type ErrorCode, ERROR_STATUS } from '../../../lib/errors';
import { isWholeBlob } from '../../../registry/types';
import { startThread } from '../../../lib/threads';
import type { ImageInventory, InventoryTask } from '../inventory-image';
import type { ScanBudget } from '../limits';
import { BLOCK_BYTES, WINDOW, type FeedMessage, type ReplyMessage, type TaskMessage, type ThreadReady } from './protocol';

export interface ScanThreadPoolOptions {
  /** Threads at most. @defaultValue the cores the process may use, its cgroup CPU quota included (../../../lib/cpus.ts; config `worker.scanThreads: auto`) */
  size?: number;
  /** Heap (old generation) of one thread in MiB. @defaultValue 384 (config `worker.scanThreadMemoryMb`) */
  memoryMb?: number;
  /** Longest one task (one platform image) may run, in ms; then its thread is terminated. @defaultValue 1,800,000 (config `worker.scanTimeoutMs`) */
  timeoutMs?: number;
}

export const DEFAULT_SCAN_TIMEOUT_MS = 30 * 60_000;

export const DEFAULT_THREAD_MEMORY_MB = 384;

/** Opens the i-th layer's blob (a registry read, verified against its digest as it streams). */
export type OpenLayer = (index: number) => Promise<Readable>;

/** The thread's code (thread.ts beside this file), started with the given heap limits. */
function spawn(resourceLimits: { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number }): Worker {
  setFlagsFromString(`--initial-old-space-size=${initialOldSpaceMb(resourceLimits.maxOldGenerationSizeMb)}`);
  return startThread(__dirname, 'thread', { resourceLimits });
}

/**
 * Old generation a new scan thread may fill before its first full GC, in MiB. V8 starts a heap
 * small and grows it as full GCs show what survives; a scan's streams survive a layer, so a
 * fresh thread ran about one mark-compact per 8 MiB image, a third of its CPU (issue 17: 48 ms
 * → 34 ms CPU per image with 64). It is a start size, not a reservation or a limit: the heap
 * limit (`maxOldGenerationSizeMb`) still stops a runaway scan; it is kept to a quarter of it.
 * Worker options have no start size, so it is the V8 flag, which V8 reads when an isolate is
 * created: set before each thread starts, it reaches the threads started after it, not the
 * main isolate (configured already).
 */
function initialOldSpaceMb(memoryMb: number): number {
  return Math.max(1, Math.min(64, Math.floor(memoryMb / 4)));
}

function asAppError(code: string, message: string): AppError {
  return new AppError(code in ERROR_STATUS ? (code as ErrorCode) : 'SCAN_FAILED', message);
}

/**
 * The block buffers of a pool's tasks: a task takes a spare one or a new one for each block it
 * sends, and its thread hands back the first window of them (a thread holds no more) with its
 * result: an image up to a window's size takes no new buffer. Fresh 1 MiB buffers for every
 * block of every scan were the main thread's largest allocation per image (issue 17: about as
 * many bytes as the image, page faults to fill them, and external memory that set off a full
 * garbage collection of the main heap every few images). At most `max` spares are kept.
 */
export class BlockBuffers {
  private readonly spare: ArrayBuffer[] = [];
  /** Buffers made because no spare was left (for tests and metrics). */
  allocated = 0;

  constructor(private readonly max: number) {}

  /** Spare buffers kept now (for tests). */
  get spares(): number {
    return this.spare.length;
  }

  /** A block that owns its whole ArrayBuffer (transferable without detaching anything else). */
  take(): Buffer {
    const spare = this.spare.pop();
    if (spare) return Buffer.from(spare);
    this.allocated += 1;
    return Buffer.allocUnsafeSlow(BLOCK_BYTES);
  }

  giveBack(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) if (b.byteLength === BLOCK_BYTES && this.spare.length < this.max) this.spare.push(b);
  }
}

/** Bytes a task may have in flight to its thread beside others: a window of blocks. */
export const WINDOW_BYTES = WINDOW * BLOCK_BYTES;

/**
 * Flow control of one task's feed to its thread, in bytes: a message goes when nothing of the
 * task is in flight, or when it fits in {@link WINDOW_BYTES} beside what is. A block counts as
 * its buffer (1 MiB: up to WINDOW of them), a whole layer as its length, so a task's messages
 * in flight never hold more than the larger of a window and one whole layer (a staged blob, at
 * most the staged blobs' `maxBlobBytes`): the bound of the rule before, which sent a whole layer
 * only when nothing was in flight. But a small layer no longer holds back the next one: the
 * thread got the app layer of an image only once it had read its small OS layer to the end,
 * and a whole layer that fits goes at once (issue 17: the strict rule cost throughput in a
 * same-run A/B).
 * The thread acknowledges messages in the order sent (it reads the layers in turn).
 */
export class FeedWindow {
  /** Bytes of each message in flight, oldest first. */
  private readonly sizes: number[] = [];
  private bytes = 0;
  private wake: (() => void) | null = null;
  private closed = false;

  /** Messages sent and not acknowledged yet. */
  get inFlight(): number {
    return this.sizes.length;
  }

  /** Bytes of the messages in flight. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  /** Resolves true once a message of `bytes` may go (counted as sent), false once closed. */
  async acquire(bytes: number): Promise<boolean> {
    while (this.sizes.length > 0 && this.bytes + bytes > WINDOW_BYTES && !this.closed) await new Promise<void>((r) => { this.wake = () => { this.wake = null; r(); }; });
    if (this.closed) return false;
    this.sizes.push(bytes);
    this.bytes += bytes;
    return true;
  }

  /** The thread took the oldest message in flight. */
  ack(): void {
    this.bytes -= this.sizes.shift() ?? 0;
    this.wake?.();
  }

  /** The task ended: a sender waiting gives up. */
  close(): void {
    this.closed = true;
    this.wake?.();
  }
}

class ScanThread {
  readonly worker: Worker;
  dead = false;
  /** Settles once the thread has loaded its code (its `ready` message: true), or has died first (false). */
  readonly ready: Promise<boolean>;

  constructor(private readonly memoryMb: number) {
    // A young generation in proportion, so that a small heap limit is not spent on it.
    this.worker = spawn({ maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: Math.max(8, Math.min(64, Math.floor(memoryMb / 8))) });
    this.worker.unref();
    // A thread that dies between tasks is replaced on next use; the error is not the process's.
    this.worker.on('error', () => { this.dead = true; });
    this.worker.on('exit', () => { this.dead = true; });
    this.ready = new Promise<boolean>((resolve) => {
      const done = (loaded: boolean): void => {
        this.worker.off('message', onMessage);
        this.worker.off('exit', onExit);
        resolve(loaded);
      };
      const onMessage = (m: ThreadReady): void => { if (m?.t === 'ready') done(true); };
      const onExit = (): void => done(false);
      this.worker.on('message', onMessage);
      this.worker.once('exit', onExit);
    });
  }

  /**
   * `blocks`: where block buffers come from and go back to (see {@link BlockBuffers}); past
   * `timeoutMs` the task fails with SCAN_LIMIT_EXCEEDED and the thread is terminated (dead).
   */
  run(task: InventoryTask, open: OpenLayer, blocks: BlockBuffers, timeoutMs: number): Promise<{ inventory: ImageInventory; budget: ScanBudget }> {
    const { port1, port2 } = new MessageChannel();
    return new Promise((resolve, reject) => {
      let settled = false;
      const flow = new FeedWindow();
      let source: Readable | null = null;
      const deadline = setTimeout(() => {
        this.dead = true;
        finish(new AppError('SCAN_LIMIT_EXCEEDED', `the scan of one image ran past ${Math.round(timeoutMs / 1000)} s (worker.scanTimeoutMs); its thread was stopped`));
        void this.worker.terminate();
      }, timeoutMs);
      deadline.unref();
      const finish = (err: Error | null, value?: { inventory: ImageInventory; budget: ScanBudget }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.worker.off('error', onError);
        this.worker.off('exit', onExit);
        port1.close();
        source?.destroy();
        flow.close();
        if (err) reject(err);
        else resolve(value!);
      };
      const onError = (err: Error & { code?: string }): void => {
        this.dead = true;
        finish(err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new AppError('SCAN_LIMIT_EXCEEDED', `the scan needed more than the ${this.memoryMb} MiB a scan thread may use (worker.scanThreadMemoryMb)`)
          : new AppError('SCAN_FAILED', `the scan thread failed: ${err.message}`));
      };
      const onExit = (code: number): void => {
        this.dead = true;
        finish(new AppError('SCAN_FAILED', `the scan thread stopped (exit code ${code})`));
      };
      this.worker.on('error', onError);
      this.worker.on('exit', onExit);
      port1.on('message', (m: ReplyMessage) => {
        if (m.t === 'ack') flow.ack();
        else if (m.t === 'done') {
          blocks.giveBack(m.blocks ?? []);
          finish(null, { inventory: m.inventory, budget: m.budget });
        }
        else finish(asAppError(m.code, m.message));
      });
      const post = (m: FeedMessage, transfer: ArrayBuffer[] = []): void => port1.postMessage(m, transfer);
      // A block counts as its buffer, a whole layer as its length (FeedWindow).
      const send = async (block: Buffer, len: number, whole = false): Promise<void> => {
        if (!(await flow.acquire(whole ? len : BLOCK_BYTES)) || settled) return;
        // The block owns its ArrayBuffer (BlockBuffers.take), so transferring it detaches nothing else.
        post({ t: 'data', buf: block.buffer as ArrayBuffer, len }, [block.buffer as ArrayBuffer]);
      };
      const feed = async (): Promise<void> => {
        for (let i = 0; i < task.layers.length && !settled; i += 1) {
          source = await open(i);
          // A layer kept in memory (staged just before) goes over whole, its buffer transferred:
          // no copy into blocks here, and its memory leaves this heap at once.
          const whole = isWholeBlob(source) ? source.takeWhole() : null;
          if (whole && whole.byteOffset === 0 && whole.byteLength === whole.buffer.byteLength) {
            await send(whole, whole.length, true);
            if (!settled) post({ t: 'end' });
            source = null;
            continue;
          }
          let block = blocks.take();
          let fill = 0;
          // A whole buffer that cannot be transferred (it shares its memory) is copied into
          // blocks like streamed bytes: its stream was ended when it was taken.
          for await (const chunk of whole ? [whole] : source as AsyncIterable<Buffer>) {
            if (settled) return;
            for (let at = 0; at < chunk.length;) {
              const n = Math.min(chunk.length - at, BLOCK_BYTES - fill);
              chunk.copy(block, fill, at, at + n);
              fill += n;
              at += n;
              if (fill === BLOCK_BYTES) {
                await send(block, fill);
                block = blocks.take();
                fill = 0;
              }
            }
          }
          if (fill > 0) await send(block, fill);
          if (!settled) post({ t: 'end' });
          source = null;
        }
      };
      const message: TaskMessage = { task, port: port2 };
      this.worker.postMessage(message, [port2]);
      // A registry fault or a digest mismatch ends the task with that error (its `temporary` kept).
      feed().catch((err: unknown) => {
        if (!settled) post({ t: 'abort' });
        finish(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }
}

export class ScanThreadPool {
  readonly size: number;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  private readonly idle: ScanThread[] = [];
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly threads = new Set<ScanThread>();
  /** Enough spares for every thread's window: what the pool's scans have in flight at most. */
  readonly blocks: BlockBuffers;

  constructor(options: ScanThreadPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableCores());
    this.memoryMb = options.memoryMb ?? DEFAULT_THREAD_MEMORY_MB;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS;
    this.blocks = new BlockBuffers(this.size * WINDOW);
  }

  /** Inventories one platform image in a thread; the task waits while every thread is busy. */
  async inventory(task: InventoryTask, open: OpenLayer): Promise<{ inventory: ImageInventory; budget: ScanBudget }> {
    while (this.running >= this.size) await new Promise<void>((r) => this.waiting.push(r));
    this.running += 1;
    let thread = this.idle.pop();
    while (thread?.dead) {
      this.threads.delete(thread);
      thread = this.idle.pop();
    }
    thread ??= this.start();
    try {
      return await thread.run(task, open, this.blocks, this.timeoutMs);
    } finally {
      if (thread.dead) {
        this.threads.delete(thread);
        void thread.worker.terminate();
      } else this.idle.push(thread);
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }

  /**
   * Starts every thread the pool may use now, rather than each on its first scan, and resolves
   * once each has loaded its code (or died: one that died is replaced on use). A worker process
   * calls it at start: loading the scan code (zod, tar, the parsers) costs each thread about a
   * tenth of a second of CPU, which otherwise fell on the first scans of a burst, once per
   * thread and per process (issue 17: with two worker processes, four thread starts per burst).
   * `count`: how many to start (at most the pool's size; the rest start on first use), so that a
   * process that runs few scans at once does not start a thread for every core of a large host.
   * @throws Error when a thread stopped before it loaded its code.
   */
  async warm(count = this.size): Promise<void> {
    while (this.threadCount < Math.min(count, this.size)) this.idle.push(this.start());
    const loaded = await Promise.all([...this.threads].map((t) => t.ready));
    const failed = loaded.filter((ok) => !ok).length;
    // A thread that cannot even load its code (a heap limit too small for it) would fail every
    // scan later with a misleading error: the process does not start instead.
    if (failed > 0) throw new Error(`${failed} of ${loaded.length} scan threads stopped while loading their code (heap limit ${this.memoryMb} MiB)`);
  }

  /** Threads started and alive (for tests and metrics). */
  get threadCount(): number {
    return [...this.threads].filter((t) => !t.dead).length;
  }

  private start(): ScanThread {
    const thread = new ScanThread(this.memoryMb);
    this.threads.add(thread);
    return thread;
  }

  /** Stops every thread (a running task fails). */
  async close(): Promise<void> {
    const all = [...this.threads];
    this.threads.clear();
    this.idle.length = 0;
    await Promise.all(all.map((t) => t.worker.terminate()));
  }
}

let shared: ScanThreadPool | null = null;

/** The process's pool when none is configured (tools, tests): one per core, default heap. */
export function sharedScanThreadPool(): ScanThreadPool {
  return (shared ??= new ScanThreadPool());
}
