/**
 * The scan thread's entry point (run by ./pool.ts in a node:worker_threads Worker with a heap
 * limit). It takes one task at a time: layer bytes arrive on the task's port and are read by
 * ../inventory-image.ts; the inventory or the error goes back on the same port.
 */
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { isAppError } from '../../../lib/errors';
import { inventoryImage } from '../inventory-image';
import type { FeedMessage, ReplyMessage, TaskMessage } from './protocol';

/** One layer's bytes as they arrive; a block is acknowledged once the reader has taken it. */
class PortReadable extends Readable {
  private owed = 0;
  constructor(private readonly ack: () => void) {
    super({ highWaterMark: 1024 * 1024 });
  }
  feed(block: Buffer): void {
    if (this.destroyed) return;
    if (this.push(block)) this.ack();
    else this.owed += 1;
  }
  override _read(): void {
    for (; this.owed > 0; this.owed -= 1) this.ack();
  }
}

async function run({ task, port }: TaskMessage): Promise<void> {
  const reply = (m: ReplyMessage): void => port.postMessage(m);
  const streams: PortReadable[] = [];
  const streamAt = (i: number): PortReadable => (streams[i] ??= new PortReadable(() => reply({ t: 'ack' })));
  let current = 0;
  port.on('message', (m: FeedMessage) => {
    if (m.t === 'data') streamAt(current).feed(Buffer.from(m.buf, 0, m.len));
    else if (m.t === 'end') streamAt(current++).push(null);
    else for (const s of streams) s.destroy(new Error('scan aborted'));
  });
  try {
    const inventory = await inventoryImage(task, streamAt);
    reply({ t: 'done', inventory, budget: task.budget });
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
