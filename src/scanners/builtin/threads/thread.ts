/**
 * The scan thread's entry point (run by ./pool.ts in a node:worker_threads Worker with a heap
 * limit). It takes one task at a time: layer bytes arrive on the task's port and are read by
 * ../inventory-image.ts; the inventory or the error goes back on the same port.
 */
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { isAppError } from '../../../lib/errors';
import { inventoryImage } from '../inventory-image';
import { BLOCK_BYTES, WINDOW, type FeedMessage, type ReplyMessage, type TaskMessage, type ThreadReady } from './protocol';

/**
 * One layer's bytes as they arrive. The reader pulls blocks from here (Readable.from asks for
 * the next only when it wants more); a block is acknowledged when it is taken, so every block
 * of a finished layer has been acknowledged and the sender's window never shrinks.
 */
class LayerQueue implements AsyncIterable<Buffer> {
  /** Blocks to read, each with whether taking it acknowledges a message (the last piece of one). */
  private readonly blocks: Array<{ block: Buffer; acks: boolean }> = [];
  private ended = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  constructor(private readonly ack: () => void) {}
  put(block: Buffer, acks = true): void { this.blocks.push({ block, acks }); this.notify(); }
  end(): void { this.ended = true; this.notify(); }
  fail(err: Error): void { this.failure = err; this.notify(); }
  private notify(): void { const w = this.wake; this.wake = null; w?.(); }
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const next = this.blocks.shift();
      if (next) {
        if (next.acks) this.ack();
        yield next.block;
      } else if (this.ended) return;
      else await new Promise<void>((r) => { this.wake = r; });
    }
  }
}

async function run({ task, port }: TaskMessage): Promise<void> {
  const reply = (m: ReplyMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  /**
   * The first WINDOW block buffers this task received, handed back with its result: enough to
   * refill the window of the next task. The others go as soon as they are read, so that a
   * thread holds at most a window's worth of blocks beyond what the parsers keep, whatever the
   * image's size (holding every block until the end made memory grow with the image).
   */
  const received: ArrayBuffer[] = [];
  const queues: LayerQueue[] = [];
  const queueAt = (i: number): LayerQueue => (queues[i] ??= new LayerQueue(() => reply({ t: 'ack' })));
  const streams: Readable[] = [];
  let current = 0;
  port.on('message', (m: FeedMessage) => {
    if (m.t === 'data') {
      // Only block buffers go back for reuse; a whole layer sent at once is not one.
      if (received.length < WINDOW && m.buf.byteLength === BLOCK_BYTES) received.push(m.buf);
      // A whole layer is read in block-sized pieces, as blocks are (one big chunk through
      // gunzip and tar made each scan slower); the message is acknowledged with its last piece.
      let at = 0;
      do {
        const n = Math.min(BLOCK_BYTES, m.len - at);
        queueAt(current).put(Buffer.from(m.buf, at, n), at + n >= m.len);
        at += n;
      } while (at < m.len);
    }
    else if (m.t === 'end') queueAt(current++).end();
    else for (const q of queues) q.fail(new Error('scan aborted'));
  });
  try {
    const inventory = await inventoryImage(task, (i) => {
      const stream = Readable.from(queueAt(i), { objectMode: false, highWaterMark: 64 * 1024 });
      streams.push(stream);
      return stream;
    });
    // Every layer has been read whole by now (inventoryImage reads each to its end), and the
    // inventory is cloned into the message, not a view of a block: the blocks are free to go.
    const blocks = received.filter((b) => b.byteLength > 0);
    try {
      reply({ t: 'done', inventory, budget: task.budget, blocks }, blocks);
    } catch {
      reply({ t: 'done', inventory, budget: task.budget });
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    reply({ t: 'error', code: isAppError(err) ? err.code : 'SCAN_FAILED', message });
  } finally {
    for (const s of streams) s.destroy();
    port.close();
  }
}

// One task at a time: the pool never sends a second before the first is answered.
parentPort?.on('message', (m: TaskMessage) => void run(m));
const ready: ThreadReady = { t: 'ready' };
parentPort?.postMessage(ready);
