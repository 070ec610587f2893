/**
 * Keeps one replica's approved set current without ever putting the network in a review's path:
 * a full load at start, a Redis pub/sub channel on which the ledger announces changes, and a
 * resync every `resyncMs`. A revocation carries what it revokes and takes effect at once (before
 * any reload); any other change schedules a reload, coalesced. A lost subscription (Redis down)
 * keeps the last set serving and marks the replica stale; past `maxStalenessMs` reviews of Pods
 * fail closed. Reconnecting reloads in full, so nothing announced while away is missed.
 *
 * The resync first reads the ledger's version (store/ledger-version.ts, moved by every write):
 * unchanged since the last load, the view is confirmed current without reading anything else;
 * moved, or every FULL_RESYNC_EVERY-th resync whatever it says (a restore from backup writes no
 * version), the ledger is loaded in full. A load builds the new set in chunks, yielding to reviews
 * between them, and swaps it in whole: a review never sees a half-built set. One load runs at a
 * time, so that an older snapshot never lands over a newer one.
 */
import type Redis from 'ioredis';
import type { Logger } from '../lib/logger';
import { ApprovedSet, type ApprovedEntry, type ApprovedTag, type RevokedEntry, type RevokedTag } from './approved-set';
import { ExceptionSet, type AdmissionException } from './exceptions';

/** The ledger as a whole, read at start, on reconnect and on a resync that finds it changed. */
export interface LedgerSource {
  /**
   * `revokedTags`: tags revocations dropped (a Pod naming one is told REVOKED); none when absent.
   * `approvedTags`: the ledger's tag index, which says the digest a tag is approved as now (read
   * before the approvals, so that every digest it names is among them unless revoked meanwhile);
   * absent: a tag goes to the newest approval listing it.
   */
  snapshot(): Promise<{ approvals: ApprovedEntry[]; revoked: RevokedEntry[]; revokedTags?: RevokedTag[]; approvedTags?: ApprovedTag[]; exceptions?: AdmissionException[] }>;
  /**
   * The ledger's version, moved by every write (null before the first): a resync that reads the
   * version of the last load skips the snapshot. Without it every resync loads in full.
   */
  version?(): Promise<string | null>;
}

/** Every this many resyncs, a full load whatever the version says. */
export const FULL_RESYNC_EVERY = 10;
/** Approvals added to a set under construction between two yields to the event loop. */
const BUILD_CHUNK = 500;

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
  /** The version read before the snapshot of the last load (undefined: unknown, the next resync loads). */
  private loadedVersion: string | null | undefined = undefined;
  private resyncs = 0;
  private loading: Promise<boolean> | null = null;
  private queued: Promise<boolean> | null = null;
  /** Loads that read a snapshot (not resyncs that found the version unchanged): for tests and logs. */
  loads = 0;
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
    let starting = true;
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onMessage(message);
    });
    this.subscriber.on('ready', () => {
      // The first connection, while start() waits for it, is start()'s to subscribe and load on:
      // loading here too read the whole ledger twice at every start on a still-connecting client.
      if (starting) return;
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
    // From here on, a 'ready' is a (re)connection start() does not handle.
    starting = false;
    if (this.subscriber.status === 'ready') {
      await this.subscriber.subscribe(this.channel);
      this.subscribed = true;
    }
    await this.reload();
    this.timer = setInterval(() => { void this.resync(); }, this.options.resyncMs);
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

  /**
   * The periodic check: the ledger's version first, a full load only when it moved (or every
   * FULL_RESYNC_EVERY-th time, or without a version to read). True when the view is confirmed.
   */
  async resync(): Promise<boolean> {
    this.resyncs += 1;
    const version = this.source.version?.bind(this.source);
    if (version && this.resyncs % FULL_RESYNC_EVERY !== 0 && this.loadedVersion !== undefined && this.loading === null) {
      const started = this.now();
      try {
        if ((await version()) === this.loadedVersion && this.loading === null) {
          // Nothing written since the last load: as current as a load now would make it (and a
          // revocation announced meanwhile was applied when heard).
          if (this.subscribed) this.loadedAt = started;
          return true;
        }
      } catch (err) {
        this.logger.warn({ error: err }, 'could not read the ledger version: serving the last set');
        return false;
      }
    }
    return this.reload();
  }

  /** A full load, one at a time (asked for during one, another follows it); on failure the last set keeps serving. */
  reload(): Promise<boolean> {
    if (this.loading) {
      this.queued ??= this.loading.then(() => {
        this.queued = null;
        return this.reload();
      });
      return this.queued;
    }
    this.loading = this.load().finally(() => { this.loading = null; });
    return this.loading;
  }

  private async load(): Promise<boolean> {
    const heard: LedgerChange[] = [];
    this.heard.add(heard);
    try {
      const started = this.now();
      // Read before the snapshot: a write landing during it moves the version past this one, and
      // the next resync loads again.
      const version = this.source.version ? await this.source.version() : undefined;
      const { approvals, revoked, revokedTags, approvedTags, exceptions } = await this.source.snapshot();
      this.loads += 1;
      const set = await ApprovedSet.build(approvals, revoked, BUILD_CHUNK, revokedTags ?? [], approvedTags);
      // Swapped in whole, with what was announced while the snapshot was read and the set built
      // (the snapshot may predate it: a revocation is never undone).
      this.set = set;
      this.exceptions = ExceptionSet.from(exceptions ?? []);
      for (const change of heard) this.apply(change);
      this.loadedVersion = version;
      // Only a load while subscribed proves nothing was missed since.
      if (this.subscribed) this.loadedAt = started;
      return true;
    } catch (err) {
      this.loadedVersion = undefined;
      this.logger.warn({ error: err }, 'could not load the approved set: serving the last one');
      return false;
    } finally {
      this.heard.delete(heard);
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
