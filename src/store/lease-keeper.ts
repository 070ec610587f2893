/**
 * Renews this process's step leases from a thread of their own (./lease-keeper-thread.ts), so a
 * lease can be short: a killed worker's step is taken over one short TTL after its death, not
 * after the long TTL that was needed while renewals ran on the main event loop (a loop blocked
 * for longer than the TTL lost its lease while its step went on).
 *
 * What decides that a holder is alive is the main thread's heartbeat, not the keeper's own
 * loop: the main thread writes the time into a shared slot every second, and the keeper renews
 * only while that time is less than `maxStallMs` old. A main thread stalled longer than that
 * (hung, or starved for that long) loses its leases one TTL later, as it did before; a process
 * that died loses them at once, its thread with it.
 */
import { type Worker } from 'node:worker_threads';
import type { RedisSettings } from '../lib/redis';
import { startThread } from '../lib/threads';
import type { KeeperData, KeeperMessage, KeeperReply } from './lease-keeper-protocol';

export interface LeaseKeeperOptions {
  /** The Redis the leases are in (the keeper opens its own connection). */
  settings: RedisSettings;
  /** How often held leases are renewed: several times within their TTL. */
  renewEveryMs: number;
  /** How long a main thread may go without a heartbeat before its leases are left to lapse. */
  maxStallMs: number;
}

const HEARTBEAT_MS = 1000;

/** Renews held step leases from its own thread; the thread starts on the first lease held (an API process never starts it). */
export class LeaseKeeper {
  private thread: Worker | null = null;
  private readonly beat = new BigInt64Array(new SharedArrayBuffer(8));
  private timer: NodeJS.Timeout | null = null;
  private readonly lost = new Map<string, () => void>();
  private onReady: () => void = () => undefined;
  /** Set by close(): no thread starts again (a lease taken after it is lost at once). */
  private closed = false;
  private readonly started = new Promise<void>((resolve) => { this.onReady = resolve; });

  constructor(private readonly options: LeaseKeeperOptions) {}

  /**
   * Starts the thread now rather than on the first lease (a worker process does, so that its
   * first lease is not renewed late by a thread still loading); resolves once it runs.
   */
  ready(): Promise<void> {
    this.start();
    return this.started;
  }

  private start(): Worker {
    if (this.thread) return this.thread;
    const options = this.options;
    this.stamp();
    const data: KeeperData & { settings: RedisSettings } = {
      settings: options.settings, renewEveryMs: options.renewEveryMs,
      maxStallMs: options.maxStallMs, heartbeat: this.beat.buffer as SharedArrayBuffer,
    };
    const thread = startThread(__dirname, 'lease-keeper-thread', { workerData: data });
    // Neither the thread nor the heartbeat may keep a process alive on its own.
    thread.unref();
    thread.on('message', (m: KeeperReply) => {
      if (m.t === 'ready') this.onReady();
      else this.lost.get(`${m.key} ${m.token}`)?.();
    });
    // A keeper thread that fails or exits renews nothing: every lease it held will lapse, so each
    // holder is told now (its step must not go on as if it held it), and the next lease held
    // starts a new thread.
    const died = (): void => {
      if (this.thread !== thread) return; // closed on purpose
      this.thread = null;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      const lost = [...this.lost.values()];
      this.lost.clear();
      for (const onLost of lost) onLost();
    };
    thread.on('error', died);
    thread.on('exit', died);
    this.timer = setInterval(() => this.stamp(), HEARTBEAT_MS);
    this.timer.unref();
    this.thread = thread;
    return thread;
  }

  private stamp(): void {
    Atomics.store(this.beat, 0, BigInt(Date.now()));
  }

  private post(m: KeeperMessage): void {
    this.start().postMessage(m);
  }

  /** Renews `key` (to `ttlMs` each time) while it holds `token`; `onLost` is called if a renewal finds it gone or taken. */
  hold(key: string, token: string, ttlMs: number, onLost: () => void): void {
    // Closed (shutting down): nothing will renew it, and a thread started now nobody would close.
    if (this.closed) {
      onLost();
      return;
    }
    this.lost.set(`${key} ${token}`, onLost);
    this.post({ t: 'hold', key, token, ttlMs });
  }

  /**
   * Stops renewing `key` for `token`. With no thread running (closed, or died) nothing renews
   * it: a drop then starts none (a release after close() used to start a thread nobody closed).
   */
  drop(key: string, token: string): void {
    this.lost.delete(`${key} ${token}`);
    if (this.thread) this.thread.postMessage({ t: 'drop', key, token } satisfies KeeperMessage);
  }

  /** Stops the thread (its leases lapse one TTL later unless released). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const thread = this.thread;
    this.thread = null;
    this.timer = null;
    if (!thread) return;
    thread.postMessage({ t: 'stop' } satisfies KeeperMessage);
    await thread.terminate();
  }
}
