/**
 * Messages between the main thread and a scan thread (node:worker_threads). One task per
 * thread at a time, each with its own MessagePort: the main thread streams the layers' bytes
 * down it in blocks, the thread acknowledges each block it has consumed (flow control: at most
 * {@link WINDOW} blocks in flight, so neither side buffers a whole layer), and answers with the
 * inventory or an error.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ImageInventory, InventoryTask } from '../inventory-image';
import type { ScanBudget } from '../limits';

/** Bytes per transferred block: big enough that message overhead is noise, small enough to stream. */
export const BLOCK_BYTES = 1024 * 1024;
/** Blocks sent and not yet consumed by the thread. */
export const WINDOW = 8;

/** main → thread, on the thread's parentPort. */
export interface TaskMessage {
  task: InventoryTask;
  port: MessagePort;
}

/** thread → main, on the thread's parentPort, once: its code is loaded (see ScanThreadPool.warm). */
export interface ThreadReady {
  t: 'ready';
}

/** main → thread, on the task's port. */
export type FeedMessage =
  | { t: 'data'; buf: ArrayBuffer; len: number }
  /** The current layer is complete: the next data belongs to the next layer. */
  | { t: 'end' }
  | { t: 'abort' };

/** thread → main, on the task's port. */
export type ReplyMessage =
  | { t: 'ack' }
  /**
   * `blocks`: the task's block buffers, handed back (transferred) once the inventory is built,
   * so that the main thread fills them again for the next task instead of allocating new ones.
   */
  | { t: 'done'; inventory: ImageInventory; budget: ScanBudget; blocks?: ArrayBuffer[] }
  | { t: 'error'; code: string; message: string };
