/**
 * Verification of the whole trail: archive files (oldest first), then the part still in
 * Redis from its anchor, each segment continuing the one before, every entry authenticated,
 * and every signed checkpoint matched against the entry it names. Checkpoints catch what the
 * chain alone cannot: a tail cut off together with the head, or the log deleted with its head.
 */
import { ChainVerifier, GENESIS, type Break, type ChainPoint, type AuditEntry } from './chain';
import { checkpointAuthentic, type FoundCheckpoint } from './checkpoints';
import type { AuditKeyring } from './keys';

export interface VerifyReport {
  ok: true;
  /** Entries checked. */
  count: number;
  /** Where the checked trail starts (genesis, or the anchor of what was archived and not given). */
  start: ChainPoint;
  head: ChainPoint;
  /** Checkpoints matched against an entry, and those older than the checked trail (in archives not given). */
  checkpoints: { matched: number; older: number };
}

export type TrailResult = VerifyReport | Break;

export class TrailVerifier {
  private chain: ChainVerifier | null = null;
  private first: ChainPoint | null = null;
  private readonly bySeq = new Map<number, FoundCheckpoint[]>();
  private matched = 0;
  private readonly forged: FoundCheckpoint | undefined;

  constructor(private readonly keys: AuditKeyring, checkpoints: readonly FoundCheckpoint[] = []) {
    this.forged = checkpoints.find((c) => !checkpointAuthentic(keys, c.checkpoint));
    for (const c of checkpoints) {
      const list = this.bySeq.get(c.checkpoint.seq) ?? [];
      list.push(c);
      this.bySeq.set(c.checkpoint.seq, list);
    }
  }

  get count(): number {
    return this.chain ? this.chain.finish().count : 0;
  }

  /** Starts a segment at `start` (genesis, an archive's start or the Redis anchor). */
  begin(start: ChainPoint, what: string): Break | null {
    if (this.forged) {
      const { where, checkpoint } = this.forged;
      return { ok: false, count: 0, seq: checkpoint.seq, reason: `checkpoint ${where} is not signed by a key of PORTCULLIS_AUDIT_KEY (checkpoint forged or altered)` };
    }
    if (!this.chain) {
      this.chain = new ChainVerifier(this.keys, start);
      this.first = start;
      return this.matchPoint(start);
    }
    const last = this.chain.last;
    if (last.seq !== start.seq || last.hash !== start.hash) {
      return { ok: false, count: this.count, seq: start.seq, reason: `${what} starts after seq ${start.seq} but the trail before it ends at seq ${last.seq}${last.seq === start.seq ? ' with another hash' : ''} (segments missing or out of order)` };
    }
    return null;
  }

  push(e: AuditEntry): Break | null {
    if (!this.chain) throw new Error('TrailVerifier.push before begin');
    return this.chain.push(e) ?? this.matchPoint({ seq: e.seq, hash: e.hash });
  }

  /** Ends the trail at `head` (the Redis head, or an archive's end). */
  finish(head: ChainPoint): TrailResult {
    if (!this.chain) throw new Error('TrailVerifier.finish before begin');
    const end = this.chain.finish(head);
    if (!end.ok) return end;
    let older = 0;
    for (const [seq, list] of [...this.bySeq.entries()].sort((a, b) => a[0] - b[0])) {
      if (seq > head.seq) {
        const { where, checkpoint } = list[0];
        return {
          ok: false, count: end.count, seq,
          reason: `checkpoint ${where} (taken ${checkpoint.at}) records seq ${seq} but the log ends at seq ${head.seq} (entries deleted: the tail cut off with its head, or the log deleted)`,
        };
      }
      if (seq < (this.first?.seq ?? 0)) older += list.length;
    }
    return { ok: true, count: end.count, start: this.first ?? GENESIS, head, checkpoints: { matched: this.matched, older } };
  }

  private matchPoint(point: ChainPoint): Break | null {
    const list = this.bySeq.get(point.seq);
    if (!list) return null;
    this.bySeq.delete(point.seq);
    for (const { where, checkpoint } of list) {
      if (checkpoint.hash !== point.hash) {
        return {
          ok: false, count: this.count, seq: point.seq,
          reason: `entry seq ${point.seq} is not the one checkpoint ${where} (taken ${checkpoint.at}) signed (log rewritten after the checkpoint)`,
        };
      }
      this.matched += 1;
    }
    return null;
  }
}
