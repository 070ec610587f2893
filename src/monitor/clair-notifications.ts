/**
 * A Clair notifier delivery, applied after the hook answered (issue 13.2): every page of the
 * notification's callback is read, the manifests it names are matched with the approved
 * digests this Clair scanner scanned (a digest, or an index whose child images it indexed),
 * the full vulnerability report of each affected digest is read again through the adapter
 * (normalized as the scan step does), stored, and `findings.updated` is published
 * (./rescan-store.ts); then the notification is deleted at the callback.
 *
 * Idempotent by notification id: a marker (`processed`, then `deleted`) is kept for a week,
 * so a redelivery, a retried job or a second worker never applies one notification twice;
 * a job that failed after the re-reads only deletes.
 *
 * A report that cannot be read again fails the job (after the others were read), so that it
 * is retried rather than the notification deleted with that digest left stale: Clair does not
 * notify again once the hook answered 200. The digests already read again are remembered
 * under the notification, so a retry reads only those left. The job retries with backoff until
 * `monitor.clairRetry.giveUpAfter` (queue/clair-notification.ts), then {@link ClairNotificationService.abandon}
 * raises `clair.notification_abandoned`; the notification is deleted at Clair only after success.
 *
 * Every notification accepted is also recorded as pending ({@link ClairNotificationService.received})
 * until it is applied, given up or forgotten, so that a job lost on the way (failed by BullMQ
 * after its worker died mid-run more often than the stalled count allows, or removed) is found
 * and queued again by the sweep of queue/clair-notification.ts: Clair delivers no more.
 */
import type Redis from 'ioredis';
import type { Logger } from '../lib/logger';
import type { ScanReport, ScanTarget } from '../scanners/types';
import type { ApprovedDigest } from './approved-digests';
import { approvedTarget, storeRescan, type RescanSink, type RescanTargets } from './rescan-store';

/** The alert raised when a notification is given up on. */
export const CLAIR_ABANDONED = 'clair.notification_abandoned';

/** Remembered child lists read per MGET: bounded, so that one reply stays small and Redis is never held long. */
export const CHILDREN_CHUNK = 500;

/** How long a notification id is remembered after it was applied. */
export const NOTIFICATION_MEMORY_S = 7 * 24 * 3600;

/** What the service needs of a Clair adapter (../scanners/clair/adapter.ts). */
export interface ClairNotifierScanner {
  readonly name: string;
  dbVersion(): Promise<string>;
  reread(target: ScanTarget): Promise<ScanReport>;
  manifestsOf(target: ScanTarget): Promise<string[]>;
  notificationManifests(callback: string, notificationId: string): Promise<string[]>;
  deleteNotification(callback: string, notificationId: string): Promise<void>;
}

export interface ClairNotificationDeps extends RescanSink {
  scanners: ReadonlyMap<string, ClairNotifierScanner>;
  approved: { list(): Promise<ApprovedDigest[]> };
  targets: RescanTargets;
  redis: Redis;
  prefix: string;
  logger: Logger;
}

export interface ClairNotification {
  scanner: string;
  notificationId: string;
  callback: string;
}

export interface ClairNotificationOutcome {
  /** Already applied and deleted (a redelivery): nothing done. */
  skipped: boolean;
  manifests: number;
  /** Approved digests whose report was read again. */
  reread: string[];
  changed: string[];
}

export function notificationKey(prefix: string, notificationId: string): string {
  return `${prefix}:clair:notification:${notificationId}`;
}

/** The hash of notifications accepted and not yet applied or given up: id → {@link PendingNotification} JSON. */
export function pendingKey(prefix: string): string {
  return `${prefix}:clair:pending`;
}

/** A notification accepted by the hook and not applied or given up yet. */
export interface PendingNotification extends ClairNotification {
  /** Epoch ms of its first acceptance (the give-up bound counts from it). */
  firstSeen: number;
}

export class ClairNotificationService {
  constructor(private readonly d: ClairNotificationDeps) {}

  /** Whether this notification was already applied (the hook then answers without queuing). */
  async seen(notificationId: string): Promise<boolean> {
    return (await this.d.redis.exists(notificationKey(this.d.prefix, notificationId))) === 1;
  }

  /** Records `n` as pending (its first acceptance time is kept); called before it is queued. */
  async received(n: ClairNotification, now = Date.now()): Promise<void> {
    const record: PendingNotification = { scanner: n.scanner, notificationId: n.notificationId, callback: n.callback, firstSeen: now };
    await this.d.redis.hsetnx(pendingKey(this.d.prefix), n.notificationId, JSON.stringify(record));
  }

  /** Notifications accepted and not applied, given up or forgotten yet (what the sweep checks). */
  async pending(): Promise<PendingNotification[]> {
    const out: PendingNotification[] = [];
    const bad: string[] = [];
    for (const [id, json] of Object.entries(await this.d.redis.hgetall(pendingKey(this.d.prefix)))) {
      try {
        const p = JSON.parse(json) as Partial<PendingNotification>;
        if (typeof p.scanner === 'string' && typeof p.callback === 'string' && typeof p.firstSeen === 'number' && p.notificationId === id) out.push(p as PendingNotification);
        else bad.push(id);
      } catch {
        bad.push(id);
      }
    }
    // Nothing can be done with an unreadable record (no callback to read): dropped, said once.
    if (bad.length) {
      this.d.logger.warn({ 'clair.notification_ids': bad }, 'unreadable pending Clair notification records dropped');
      await this.d.redis.hdel(pendingKey(this.d.prefix), ...bad);
    }
    return out.sort((a, b) => a.firstSeen - b.firstSeen);
  }

  /** Whether `notificationId` is still pending (not applied, given up or forgotten since it was listed). */
  async isPending(notificationId: string): Promise<boolean> {
    return (await this.d.redis.hexists(pendingKey(this.d.prefix), notificationId)) === 1;
  }

  /** No longer pending without being applied (its callback refused): the sweep leaves it. */
  async forget(notificationId: string): Promise<void> {
    await this.d.redis.hdel(pendingKey(this.d.prefix), notificationId);
  }

  async process(n: ClairNotification): Promise<ClairNotificationOutcome> {
    const scanner = this.d.scanners.get(n.scanner);
    if (!scanner) throw new Error(`no Clair scanner named ${n.scanner} in this worker`);
    const key = notificationKey(this.d.prefix, n.notificationId);
    const state = await this.d.redis.get(key);
    const out: ClairNotificationOutcome = { skipped: state === 'deleted', manifests: 0, reread: [], changed: [] };
    if (state === 'deleted') {
      await this.forget(n.notificationId);
      return out;
    }
    if (state !== 'processed') {
      const manifests = new Set(await scanner.notificationManifests(n.callback, n.notificationId));
      out.manifests = manifests.size;
      const doneKey = `${key}:reread`;
      const done = new Set(await this.d.redis.smembers(doneKey));
      const failed: string[] = [];
      for (const { approved, target } of await this.affected(scanner, manifests)) {
        if (done.has(approved.digest)) continue;
        // A failed read (a failed report, or Clair away) leaves this digest to a later run, after the others were read;
        // so does a failed store or publish (Redis away, a health re-evaluation that failed: the event stays owed).
        const outcome = await scanner.reread(target)
          .then((report) => storeRescan(this.d, approved, report, () => scanner.dbVersion())
            .then((o) => ({ o, error: report.error as unknown }), (err: unknown) => ({ o: 'failed' as const, error: err, stored: true })))
          .catch((err: unknown) => ({ o: 'failed' as const, error: err }));
        if (outcome.o === 'failed') {
          const what = 'stored' in outcome
            ? 'Clair report read again but not stored, or stored and its findings.updated not handled (the event stays owed: a retry that reads it again, or the health sweep, publishes it)'
            : 'Clair report could not be read again; the stored one stays until a retry reads it';
          this.d.logger.warn({ scanner: n.scanner, 'clair.notification_id': n.notificationId, digest: approved.digest, error: outcome.error }, what);
          failed.push(approved.digest);
          continue;
        }
        await this.d.redis.multi().sadd(doneKey, approved.digest).expire(doneKey, NOTIFICATION_MEMORY_S).exec();
        out.reread.push(approved.digest);
        if (outcome.o === 'changed') out.changed.push(approved.digest);
      }
      if (failed.length) throw new Error(`${failed.length} affected report(s) could not be read again from ${n.scanner}: ${failed.join(', ')}`);
      await this.d.redis.multi().set(key, 'processed', 'EX', NOTIFICATION_MEMORY_S).del(doneKey).exec();
    }
    await scanner.deleteNotification(n.callback, n.notificationId);
    await this.d.redis.multi().set(key, 'deleted', 'EX', NOTIFICATION_MEMORY_S).hdel(pendingKey(this.d.prefix), n.notificationId).exec();
    this.d.logger.info({ scanner: n.scanner, 'clair.notification_id': n.notificationId, manifests: out.manifests, reread: out.reread.length, changed: out.changed.length }, 'Clair notification applied');
    return out;
  }

  /**
   * A notification given up on after every retry (`monitor.clairRetry.giveUpAfter`): the alert
   * `clair.notification_abandoned` (audited, ECS alert line, webhooks), naming what failed last.
   * The notification stays at Clair (never deleted unapplied).
   */
  async abandon(n: ClairNotification, failure: { tries: number; firstSeen: string; error: string }): Promise<void> {
    this.d.logger.error({ scanner: n.scanner, 'clair.notification_id': n.notificationId, tries: failure.tries, error: { message: failure.error } }, 'Clair notification given up after every retry: the digests it names may keep stale findings');
    await this.d.events.publish({
      type: CLAIR_ABANDONED, actor: 'system', target: `clair-notification/${n.notificationId}`,
      details: { scanner: n.scanner, notificationId: n.notificationId, tries: failure.tries, firstSeen: failure.firstSeen, error: failure.error.slice(0, 500) },
    });
    await this.forget(n.notificationId);
  }

  /** Approved digests, scanned by `scanner`, that are or contain one of `manifests`. */
  private async affected(scanner: ClairNotifierScanner, manifests: ReadonlySet<string>): Promise<Array<{ approved: ApprovedDigest; target: ScanTarget }>> {
    const out: Array<{ approved: ApprovedDigest; target: ScanTarget }> = [];
    const all = await this.d.approved.list();
    // An index: Clair indexed (and names) its child images. Children of a digest never change,
    // so they are read from the registry once and remembered; the remembered lists are read
    // with one MGET per chunk, not one GET per approved digest (thousands per notification).
    const indexes = all.filter((a) => !manifests.has(a.digest));
    const cached = new Map<string, string | null>();
    for (let i = 0; i < indexes.length; i += CHILDREN_CHUNK) {
      const chunk = indexes.slice(i, i + CHILDREN_CHUNK);
      const values = await this.d.redis.mget(chunk.map((a) => this.childrenKey(a.digest)));
      chunk.forEach((a, j) => cached.set(a.digest, values[j] ?? null));
    }
    for (const approved of all) {
      let target: ScanTarget | null | undefined;
      if (!manifests.has(approved.digest)) {
        let children = JSON.parse(cached.get(approved.digest) ?? 'null') as string[] | null;
        if (!children) {
          target = await approvedTarget(this.d.targets, approved, scanner.name);
          if (!target) continue;
          children = await scanner.manifestsOf(target);
          // Kept as long as a notification is remembered, not forever: a digest no longer approved leaves nothing behind.
          await this.d.redis.set(this.childrenKey(approved.digest), JSON.stringify(children), 'EX', NOTIFICATION_MEMORY_S);
        }
        if (!children.some((c) => manifests.has(c))) continue;
      }
      target = target === undefined ? await approvedTarget(this.d.targets, approved, scanner.name) : target;
      if (target) out.push({ approved, target });
    }
    return out;
  }

  private childrenKey(digest: string): string {
    return `${this.d.prefix}:clair:manifests:${digest}`;
  }
}
