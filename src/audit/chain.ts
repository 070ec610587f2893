/**
 * The audit hash chain, as pure functions: canonical JSON (keys sorted at every level, no
 * whitespace) so that the same entry always hashes the same, and a verifier that names the
 * first entry where the chain breaks.
 */
import { createHash } from 'node:crypto';

/** One audit entry. `hash` covers every other field, `prevHash` included. */
export interface AuditEntry {
  /** 1, 2, 3, … without gaps. */
  seq: number;
  /** ISO 8601 time of the append. */
  at: string;
  /** Principal name, or `system` for the pipeline. */
  actor: string;
  /** `request.created`, `request.status_changed`, `request.approved`, `approval.revoked`, … */
  action: string;
  /** What the action is about, e.g. `request/<id>` or `approval/<team>/<digest>`. */
  target: string;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // undefined is not JSON; it must not silently vanish in one place and not another.
    return JSON.stringify(value === undefined ? null : value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { seq, at, actor, action, target, details, prevHash } = entry;
  return createHash('sha256').update(canonicalJson({ seq, at, actor, action, target, details, prevHash })).digest('hex');
}

export type VerifyResult =
  | { ok: true; count: number; lastHash: string }
  | { ok: false; count: number; seq: number; reason: string };

type Break = { ok: false; count: number; seq: number; reason: string };

/**
 * Checks entries one at a time, in order: sequence without gaps from 1, each `prevHash`
 * equal to the hash before it, each `hash` equal to the recomputed one. Incremental, so a
 * long log is verified page by page.
 */
export class ChainVerifier {
  private prev = GENESIS_HASH;
  private count = 0;

  /** Returns the break at this entry, or null when it continues the chain. */
  push(e: AuditEntry): Break | null {
    const expectedSeq = this.count + 1;
    if (e.seq !== expectedSeq) return { ok: false, count: this.count, seq: e.seq, reason: `expected seq ${expectedSeq}, found ${e.seq} (entry missing or reordered)` };
    if (e.prevHash !== this.prev) return { ok: false, count: this.count, seq: e.seq, reason: 'prevHash does not match the previous entry' };
    if (entryHash(e) !== e.hash) return { ok: false, count: this.count, seq: e.seq, reason: 'hash does not match the entry content (entry altered)' };
    this.prev = e.hash;
    this.count += 1;
    return null;
  }

  /** `expectedHead`, when given, catches a deleted tail (the chain would otherwise look whole). */
  finish(expectedHead?: { seq: number; hash: string }): VerifyResult {
    if (expectedHead && (expectedHead.seq !== this.count || expectedHead.hash !== this.prev)) {
      return { ok: false, count: this.count, seq: expectedHead.seq, reason: `log ends at seq ${this.count} but the head records seq ${expectedHead.seq} (entries deleted)` };
    }
    return { ok: true, count: this.count, lastHash: this.prev };
  }
}

export function verifyChain(entries: Iterable<AuditEntry>, expectedHead?: { seq: number; hash: string }): VerifyResult {
  const v = new ChainVerifier();
  for (const e of entries) {
    const broken = v.push(e);
    if (broken) return broken;
  }
  return v.finish(expectedHead);
}
