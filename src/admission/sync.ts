/**
 * Keeps one replica's approved set current without ever putting the network in a review's path:
 * a full load at start and every `resyncMs`, and a Redis pub/sub channel on which the ledger
 * announces changes. A revocation carries what it revokes and takes effect at once (before any
 * reload); any other change schedules a reload, coalesced. A lost subscription (Redis down) keeps
 * the last set serving and marks the replica stale; past `maxStalenessMs` reviews of Pods fail
 * closed. Reconnecting reloads in full, so nothing announced while away is missed.
 */
import type Redis from 'ioredis';
import type { Logger } from '../lib/logger';
import { ApprovedSet, type ApprovedEntry, type RevokedEntry } from './approved-set';
import { ExceptionSet, type AdmissionException } from './exceptions';

/** The ledger as a whole, read at start, on reconnect and every resync. */
export interface LedgerSource {
  snapshot(): Promise<{ approvals: ApprovedEntry[]; revoked: RevokedEntry[]; exceptions?: AdmissionException[] }>;
}

/** A change announced on the channel; `revoked` and the exception changes carry themselves. */
export type LedgerChange =
  | { type: 'revoked'; revocation: RevokedEntry }
  | { type: 'changed'; team: string }
  | { type: 'exception.granted'; exception: AdmissionException }
  | { type: 'exception.revoked'; team: string; id: string };

export function ledgerChannel(prefix: string): string {
  return `${prefix}:ledger:changes`;
}

export interface SyncOptions {
  /** Full reload interval, also the heartbeat that proves the view is current. @defaultValue 30000 */
  resyncMs: number;
  /** Past this without a confirmed view, Pods are denied. @defaultValue 300000 */
  maxStalenessMs: number;
  /** Coalescing delay of reloads after announced changes. @defaultValue 50 */
  debounceMs?: number;
  now?: () => number;
}

export class LedgerSync {
  set = new ApprovedSet();
  exceptions = new ExceptionSet();
  /** Changes heard while a load is in flight: applied again to its result, which may predate them. */
  private readonly heard = new Set<LedgerChange[]>();
  private loadedAt: number | null = null;
  private subscribed = false;
  private lostAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pending: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly source: LedgerSource,
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly options: SyncOptions,
    private readonly logger: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onMessage(message);
    });
    this.subscriber.on('ready', () => {
      // (Re)subscribed after a loss: what was announced meanwhile is only in the ledger itself.
      void this.subscriber.subscribe(this.channel).then(() => { this.subscribed = true; this.lostAt = null; return this.reload(); }).catch(() => undefined);
    });
    this.subscriber.on('close', () => {
      if (this.subscribed) this.lostAt = this.now();
      this.subscribed = false;
    });
    // Give a connection that is still being made a moment, so that a replica starting with Redis
    // is current at once; without Redis it starts anyway, not ready, and the 'ready' handler loads.
    if (this.subscriber.status !== 'ready') {
      await Promise.race([new Promise((resolve) => this.subscriber.once('ready', resolve)), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    if (this.subscriber.status === 'ready') {
      await this.subscriber.subscribe(this.channel);
      this.subscribed = true;
    }
    await this.reload();
    this.timer = setInterval(() => { void this.reload(); }, this.options.resyncMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.pending) clearTimeout(this.pending);
  }

  private onMessage(message: string): void {
    let change: LedgerChange;
    try {
      change = JSON.parse(message) as LedgerChange;
    } catch {
      this.logger.warn('unreadable ledger change announcement: reloading');
      this.scheduleReload();
      return;
    }
    this.apply(change);
    for (const list of this.heard) list.push(change);
    this.scheduleReload();
  }

  private apply(change: LedgerChange): void {
    if (change.type === 'revoked' && change.revocation && typeof change.revocation.digest === 'string') this.set.revoke(change.revocation);
    if (change.type === 'exception.granted' && change.exception && typeof change.exception.id === 'string' && typeof change.exception.team === 'string') {
      this.exceptions.add(change.exception);
    }
    if (change.type === 'exception.revoked' && typeof change.id === 'string') this.exceptions.remove(change.team, change.id);
  }

  private scheduleReload(): void {
    if (this.pending || this.stopped) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      void this.reload();
    }, this.options.debounceMs ?? 50);
    this.pending.unref();
  }

  /** A full load; on failure the last set keeps serving. */
  async reload(): Promise<boolean> {
    try {
      const started = this.now();
      const heard: LedgerChange[] = [];
      this.heard.add(heard);
      const { approvals, revoked, exceptions } = await this.source.snapshot().finally(() => this.heard.delete(heard));
      this.set = ApprovedSet.from(approvals, revoked);
      this.exceptions = ExceptionSet.from(exceptions ?? []);
      // A revocation announced while the snapshot was read may be missing from it: never undo it.
      for (const change of heard) this.apply(change);
      // Only a load while subscribed proves nothing was missed since.
      if (this.subscribed) this.loadedAt = started;
      return true;
    } catch (err) {
      this.logger.warn({ error: err }, 'could not load the approved set: serving the last one');
      return false;
    }
  }

  /** When the view was last confirmed current, or null before the first load. */
  get confirmedAt(): number | null {
    return this.loadedAt;
  }

  /**
   * Since when the view may be out of date (null while current): the subscription was lost, or
   * no load succeeded for two resync intervals.
   */
  staleSince(): number | null {
    if (this.loadedAt === null) return 0;
    if (this.lostAt !== null) return Math.min(this.lostAt, this.loadedAt + this.options.resyncMs);
    return this.now() - this.loadedAt > 2 * this.options.resyncMs ? this.loadedAt : null;
  }

  /** Whether reviews of Pods must fail closed now. */
  failClosed(): boolean {
    const since = this.staleSince();
    return since !== null && this.now() - since > this.options.maxStalenessMs;
  }
}
