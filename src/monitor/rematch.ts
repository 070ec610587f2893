/**
 * Re-matches approved digests against new vulnerability data from their stored inventories
 * (issue 13.1): no registry traffic, no layer read. For each approved digest whose stored
 * report was made with older data, the kept inventory (./inventory-store.ts, its compact
 * matching form) is matched with the builtin scanner's own matcher (../scanners/builtin/match.ts)
 * through one memo per pass (each distinct package looked up once for the whole fleet), in
 * batches read one round trip each and one batch ahead of the matching, and (in a delta pass)
 * written while the next batch is matched; the report is stored where scan reports live (per digest and scanner),
 * never over one stored since it was read, and when the findings differ from the previous
 * report a `findings.updated {team, repository, digest, scanner}` event is published for every
 * team and image the digest is approved for (./findings-updated.ts; BOARD contract: health
 * re-evaluates on it). The event is owed from the write on: written with the report
 * (./findings-outbox.ts), settled once published; a pass that stopped in between leaves it to
 * the next pass, which publishes it first, or to the health sweep.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from '../lib/logger';
import { matchInventory, type PlatformInventory } from '../scanners';
import type { OsvDatabase } from '../scanners';
import { changedKeys, manifestOf } from '../scanners';
import { summarize, type ScanReport } from '../scanners/types';
import type { ApprovedDigest } from './approved-digests';
import { publishPending, type PendingFindings } from './findings-outbox';
import type { FindingsEvents } from './findings-updated';
import type { RedisInventoryStore } from './inventory-store';
import { RematchMemo, type KeptIdentity } from './rematch-memo';
import { MATCHER_VERSION } from './matcher-version';
import { reportTail, type RedisRematchState, type StoredReport } from './rematch-state';
import { digestKeys, findingKey, matchDigest, reportEdit, reportText, sameDigestFindings, sameKeys, type ReportEdit } from './rematch-text';

/** A scanner whose findings are a function of (inventory, data): the builtin one. */
export interface RematchableScanner {
  readonly name: string;
  vulnerabilityData(): Promise<{ version: string; db: OsvDatabase }>;
}

export interface RematchDeps {
  inventories: Pick<RedisInventoryStore, 'platforms' | 'touchAll'>;
  /** The re-match's own state between passes, and its report writes (./rematch-state.ts). */
  state: Pick<RedisRematchState, 'get' | 'put' | 'reports' | 'replaceIf' | 'writeIf' | 'outbox'>;
  approved: { list(): Promise<ApprovedDigest[]> };
  /** Where `findings.updated` goes, published `required` (a failed re-evaluation fails the pass). */
  events: FindingsEvents;
  logger: Logger;
}

export interface RematchResult {
  scanner: string;
  dbVersion: string;
  /** `delta`: only what the data change touched was matched again; `full`: everything, and why. */
  mode: 'delta' | 'full';
  /** Why a full re-match (no earlier data version recorded, another matcher, asked for). */
  fullReason?: string;
  /** Index keys the data change touched (delta). */
  changedKeys?: number;
  /** Approved digests looked at. */
  digests: number;
  /** Re-matched (their report was older than the data). */
  rematched: number;
  /** Whose findings changed (an event was published for each of their approvals). */
  changed: number;
  /** Whose stored findings text changed (written whole, or edited where packages' findings changed); the others kept theirs. */
  rewritten: number;
  /** Re-matched whole, compared with the stored report read back (all of them in a full pass; in a delta, those the memo could not edit). */
  whole: number;
  /** Approved digests without a kept inventory (scanned before inventories were kept, or expired). */
  missing: string[];
}

/** Digests read, matched and written per round trip (and read one batch ahead of the matching). */
const BATCH = 32;

type Outcome = 'missing' | 'current' | 'same' | 'changed';

interface Pass {
  scanner: string;
  version: string;
  db: OsvDatabase;
  memo: RematchMemo;
  /** Delta: the previous data version the stored reports must be at. */
  from?: string;
  forced: boolean;
}

/** How often a whole report is matched again when another one keeps being stored meanwhile. */
const FULL_ATTEMPTS = 3;

/** A matched batch: the delta's report edits, and the digests matched whole instead. */
interface Matched {
  edits: Array<{ i: number; digest: string; edit: ReportEdit; changed: boolean }>;
  full: number[];
}

interface Loaded {
  approved: ApprovedDigest;
  images: PlatformInventory[] | null;
  /** The stored report (its text and the SHA-1 of the bytes read, for the compare-and-set write), when read. */
  previous?: StoredReport | null;
}

const isCurrent = (text: string | null | undefined, scanner: string, version: string): boolean =>
  !!text && text.startsWith(`{"scanner":${JSON.stringify(scanner)},"status":"succeeded",`) && text.endsWith(`,"dbVersion":${JSON.stringify(version)}}`);

/** The findings array's text within a report's text. */
function findingsText(text: string): string {
  return text.slice(text.indexOf('"findings":['), text.lastIndexOf('],"startedAt":'));
}

export class RematchService {
  constructor(private readonly d: RematchDeps) {}

  /**
   * Re-matches every approved digest whose stored `scanner` report predates the scanner's
   * current data. When the previous pass recorded its data version (and the matcher is the
   * same), only the packages whose advisories changed are matched again and a report whose
   * findings did not change keeps them; otherwise (or with `full`) every package is.
   */
  /**
   * Whether the last whole pass for `scanner` is not at `version` with this matcher: a pass that
   * stopped halfway (a Redis fault, a restart) left its state behind, and must run again even
   * when the next sync brings no new data.
   */
  async behind(scanner: string, version: string): Promise<boolean> {
    const state = await this.d.state.get(scanner);
    return !state || state.dbVersion !== version || state.matcher !== MATCHER_VERSION;
  }

  async rematchAll(scanner: RematchableScanner, options: { full?: boolean } = {}): Promise<RematchResult> {
    // Owed by an earlier pass that stopped between a write and its publish (or whose publish
    // failed: a health re-evaluation that failed): published first, so that they come before
    // this pass's events for the same digests. One that fails again does not stop this pass: its
    // record stays for the health sweep, and a digest this pass changes replaces it with its own
    // (one record per digest: the newer event says all the older one did). Else a digest whose
    // re-evaluation always fails would stop every pass of the scanner here.
    const owed = await this.d.state.outbox.flush(this.d.events, { scanner: scanner.name, logger: this.d.logger }).catch((err: unknown) => {
      this.d.logger.error({ error: err, scanner: scanner.name }, 're-match: findings.updated an earlier pass owed could not all be published; they stay owed (the health sweep publishes them)');
      return 0;
    });
    if (owed > 0) this.d.logger.warn({ scanner: scanner.name, events: owed }, 're-match: published the findings.updated an earlier pass wrote and did not publish');
    const { version, db } = await scanner.vulnerabilityData();
    const manifest = manifestOf(db);
    const state = options.full ? null : await this.d.state.get(scanner.name);
    const fullReason = options.full ? 'asked for' : !state ? 'no earlier data version recorded' : state.matcher !== MATCHER_VERSION ? `matcher changed (${state.matcher} → ${MATCHER_VERSION})` : undefined;
    let changed: Set<string> | undefined;
    let memo: RematchMemo;
    if (state && !fullReason) {
      changed = state.dbVersion === version ? new Set() : changedKeys(state.manifest, manifest);
      memo = new RematchMemo(db, { kept: new Map<string, KeptIdentity>(state.kept), changed });
      this.d.logger.info({ scanner: scanner.name, from: state.dbVersion, to: version, changedKeys: changed.size }, 're-match: only what the data change touched');
    } else {
      memo = new RematchMemo(db);
      this.d.logger.info({ scanner: scanner.name, to: version, reason: fullReason }, 're-match: every package (the data change is not known)');
    }
    const pass: Pass = { scanner: scanner.name, version, db, memo, forced: options.full === true, ...(changed && state ? { from: state.dbVersion } : {}) };
    const result: RematchResult = {
      scanner: scanner.name, dbVersion: version, mode: pass.from !== undefined ? 'delta' : 'full', ...(fullReason ? { fullReason } : {}),
      ...(changed ? { changedKeys: changed.size } : {}), digests: 0, rematched: 0, changed: 0, rewritten: 0, whole: 0, missing: [],
    };
    const all = await this.d.approved.list();
    const batches: ApprovedDigest[][] = [];
    for (let i = 0; i < all.length; i += BATCH) batches.push(all.slice(i, i + BATCH));
    // Three stages overlap: the next batch's reads (Redis, inflating off the event loop), this
    // batch's matching (this thread), and the previous batch's writes (Redis edits of reports of
    // ~500 KB, a script each: Redis's own CPU). Writes stay in batch order, one batch at a time,
    // so the events are published in order; a batch's writes start only once the previous
    // batch's are done, so at most three batches are held (read, matched, being written) however
    // slow the writes are (a full pass matches inside its writes). A failure anywhere stops the
    // pass only after the writes in flight have settled: nothing writes after it returned.
    let next = batches.length > 0 ? this.load(pass, batches[0]!) : undefined;
    let writing: Promise<void> = Promise.resolve();
    try {
      for (let b = 0; b < batches.length; b++) {
        const loaded = await next!;
        next = b + 1 < batches.length ? this.load(pass, batches[b + 1]!) : undefined;
        // Awaited on the next turn of the loop; until then a failure must not count as unhandled.
        next?.catch(() => undefined);
        const matched = await this.match(pass, loaded);
        await writing;
        writing = this.commit(pass, loaded, matched).then(({ outcomes, rewritten, whole }) => {
          result.rewritten += rewritten;
          result.whole += whole;
          for (const [i, outcome] of outcomes.entries()) {
            result.digests += 1;
            if (outcome === 'missing') result.missing.push(loaded[i]!.approved.digest);
            if (outcome === 'changed' || outcome === 'same') result.rematched += 1;
            if (outcome === 'changed') result.changed += 1;
          }
        });
        // Awaited on the next turn or below; until then a failure must not count as unhandled.
        writing.catch(() => undefined);
      }
      await writing;
    } finally {
      await writing.catch(() => undefined);
    }
    // Kept only after a whole pass: a pass that stopped halfway leaves the previous state, which
    // the reports it did not reach are still at.
    await this.d.state.put(scanner.name, { dbVersion: version, manifest, kept: memo.keep() });
    this.d.logger.info({ scanner: scanner.name, dbVersion: version, mode: result.mode, digests: result.digests, rematched: result.rematched, changed: result.changed, rewritten: result.rewritten, whole: result.whole, missing: result.missing.length }, 're-matched approved digests from their inventories');
    return result;
  }

  /** The kept inventories of `batch` and, in a full pass, their stored reports' texts. */
  private async load(pass: Pass, batch: readonly ApprovedDigest[]): Promise<Loaded[]> {
    const digests = batch.map((a) => a.digest);
    const [images, previous] = await Promise.all([
      this.d.inventories.platforms(pass.scanner, digests),
      pass.from === undefined ? this.d.state.reports(pass.scanner, digests) : undefined,
    ]);
    return batch.map((approved, i) => ({ approved, images: images[i] ?? null, ...(previous ? { previous: previous[i] ?? null } : {}) }));
  }

  /**
   * Matches a loaded batch: in a delta, the edits of the stored reports the memo can make; the
   * digests it cannot edit (a package it did not know, several images) are left to {@link full}.
   */
  private async match(pass: Pass, batch: readonly Loaded[]): Promise<Matched> {
    const edits: Matched['edits'] = [];
    const full: number[] = [];
    for (const [i, l] of batch.entries()) {
      const m = pass.from !== undefined && l.images ? matchDigest(l.images, pass.memo) : null;
      if (m && !m.unknown) {
        // Delta: the memo knows what the data change did to each of the digest's packages; the
        // stored report is edited where they changed (nowhere, for most digests).
        edits.push({ i, digest: l.approved.digest, edit: reportEdit(m, pass.memo, pass.scanner), changed: !sameDigestFindings(m) });
      } else full.push(i);
      // Matching is CPU work on the worker's event loop: let its other jobs breathe in between.
      await yieldToLoop();
    }
    return { edits, full };
  }

  /**
   * Writes a matched batch's reports (edits, then whole ones), each with the `findings.updated`
   * it owes when its findings changed, renews its inventories, then publishes for each digest
   * whose findings changed, in order, and settles what it published.
   */
  private async commit(pass: Pass, batch: Loaded[], { edits, full }: Matched): Promise<{ outcomes: Outcome[]; rewritten: number; whole: number }> {
    const outcomes: Outcome[] = new Array<Outcome>(batch.length);
    const whole = [...full];
    const owed = new Map<number, PendingFindings>();
    if (edits.length > 0) {
      const tail = reportTail(new Date().toISOString(), new Date().toISOString(), pass.version);
      const items = edits.map((it) => (it.changed ? { ...it, pending: this.owed(pass, batch, owed, it.i) } : it));
      const written = await this.d.state.writeIf(pass.scanner, pass.from!, pass.version, tail, items);
      edits.forEach((it, k) => {
        const w = written[k]!;
        if (w === 'other') whole.push(it.i);
        else outcomes[it.i] = w === 'current' ? 'current' : it.changed ? 'changed' : 'same';
      });
    }
    let rewritten = edits.filter((it) => !it.edit.kept && (outcomes[it.i] === 'same' || outcomes[it.i] === 'changed')).length;
    const written = await this.full(pass, batch, whole, outcomes, owed);
    rewritten += written;
    const touched = batch.filter((_, i) => outcomes[i] === 'same' || outcomes[i] === 'changed').map((l) => l.approved.digest);
    await this.d.inventories.touchAll(pass.scanner, touched);
    // Only the records written: a write refused ('current', 'other') owes nothing.
    const due = batch.flatMap((_, i) => (outcomes[i] === 'changed' ? [owed.get(i)!] : []));
    await publishPending(this.d.events, this.d.state.outbox, due, this.d.logger);
    return { outcomes, rewritten, whole: written };
  }

  /** The `findings.updated` owed by a new report of the digest at `i` (one record per digest and pass, whichever write lands). */
  private owed(pass: Pass, batch: readonly Loaded[], owed: Map<number, PendingFindings>, i: number): PendingFindings {
    let r = owed.get(i);
    if (!r) owed.set(i, r = this.d.state.outbox.record(batch[i]!.approved, pass.scanner, pass.version));
    return r;
  }

  /**
   * The whole re-match of the digests at `indexes`: compared with the stored report's text and
   * written whole, unless another report was stored since it was read (a rescan that landed
   * meanwhile): that one is read again and, unless it is at this pass's data already, matched
   * against again; a report written since is never overwritten by an older read.
   */
  private async full(pass: Pass, batch: Loaded[], indexes: readonly number[], outcomes: Outcome[], owed: Map<number, PendingFindings>): Promise<number> {
    if (indexes.length === 0) return 0;
    let pending = [...indexes];
    let written = 0;
    for (let attempt = 0; attempt < FULL_ATTEMPTS && pending.length > 0; attempt++) {
      const unread = pending.filter((i) => batch[i]!.previous === undefined);
      const texts = await this.d.state.reports(pass.scanner, unread.map((i) => batch[i]!.approved.digest));
      unread.forEach((i, k) => { batch[i]!.previous = texts[k] ?? null; });
      const writes: Array<{ i: number; digest: string; text: string; expected: string | null; outcome: Outcome; pending?: PendingFindings }> = [];
      for (const i of pending) {
        const { approved, images } = batch[i]!;
        const previous = batch[i]!.previous?.text;
        // Forced, a current report is matched again, unless it was stored since this pass read it.
        if ((!pass.forced || attempt > 0) && isCurrent(previous, pass.scanner, pass.version)) {
          // Its packages still go through the memo, which the next pass diffs against: unknown
          // to it, the digest would be re-matched whole then.
          if (images) for (const image of images) for (const pkg of image.packages) pass.memo.entry(pkg);
          outcomes[i] = 'current';
          continue;
        }
        if (!images) { outcomes[i] = 'missing'; continue; }
        const startedAt = new Date().toISOString();
        const m = matchDigest(images, pass.memo);
        const { text, keys } = m ? { text: reportText(m, pass.memo, pass.scanner, reportTail(startedAt, new Date().toISOString(), pass.version)), keys: () => digestKeys(m) } : this.objectReport(pass, images, startedAt);
        const outcome: Outcome = previous && isSucceeded(previous, pass.scanner) && (findingsText(previous) === findingsText(text) || sameKeys(previousKeys(previous), keys())) ? 'same' : 'changed';
        writes.push({ i, digest: approved.digest, text, expected: batch[i]!.previous?.sha1 ?? null, outcome, ...(outcome === 'changed' ? { pending: this.owed(pass, batch, owed, i) } : {}) });
        await yieldToLoop();
      }
      const replies = await this.d.state.replaceIf(pass.scanner, writes);
      pending = [];
      writes.forEach((w, k) => {
        if (replies[k] === 'done') {
          outcomes[w.i] = w.outcome;
          written += 1;
        } else {
          // Another report was stored since the read: read it again.
          batch[w.i]!.previous = undefined;
          pending.push(w.i);
        }
      });
    }
    for (const i of pending) {
      // Written over on every attempt (reports racing in): left to the writers, and to the next pass.
      this.d.logger.warn({ scanner: pass.scanner, digest: batch[i]!.approved.digest }, 're-match: the report kept changing while it was re-matched; left as stored');
      outcomes[i] = 'current';
    }
    return written;
  }

  /** A digest the text path does not write (several images, a platform): matched as objects. */
  private objectReport(pass: Pass, images: readonly PlatformInventory[], startedAt: string): { text: string; keys: () => string[] } {
    const findings = matchInventory(images, pass.memo);
    const report: ScanReport = { scanner: pass.scanner, status: 'succeeded', summary: summarize(findings), findings, startedAt, finishedAt: new Date().toISOString(), dbVersion: pass.version };
    return { text: JSON.stringify(report), keys: () => findings.map(findingKey) };
  }

}

function isSucceeded(text: string, scanner: string): boolean {
  return text.startsWith(`{"scanner":${JSON.stringify(scanner)},"status":"succeeded",`);
}

function previousKeys(text: string): string[] {
  const report = JSON.parse(text) as ScanReport;
  return report.findings.map(findingKey);
}

