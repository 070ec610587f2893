/**
 * The audit hash chain, as pure functions: canonical JSON (keys sorted at every level, no
 * whitespace) so that the same entry always hashes the same, HMAC-SHA256 with a key Redis
 * never holds (keys.ts) so that a Redis writer cannot recompute it, and a verifier that names
 * the first entry where the chain breaks.
 */
import type { AuditKeyring } from './keys';

/** One audit entry. `hash` covers every other field, `prevHash` and `keyId` included. */
export interface AuditEntry {
  /** 1, 2, 3, … without gaps. */
  seq: number;
  /** ISO 8601 time of the change. */
  at: string;
  /** Principal name, or `system` for the pipeline. */
  actor: string;
  /** `request.created`, `request.status_changed`, `request.approved`, `approval.revoked`, … */
  action: string;
  /** What the action is about, e.g. `request/<id>` or `approval/<team>/<digest>`. */
  target: string;
  details: Record<string, unknown>;
  prevHash: string;
  /** Which key of PORTCULLIS_AUDIT_KEY authenticated `hash`. */
  keyId: string;
  /** Hex HMAC-SHA256 of the other fields. */
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** Where a chain (or the part of it still in Redis) starts: genesis, or the last archived entry. */
export interface ChainPoint {
  seq: number;
  hash: string;
}

export const GENESIS: ChainPoint = { seq: 0, hash: GENESIS_HASH };

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

function entryMessage(entry: Omit<AuditEntry, 'hash'>): string {
  const { seq, at, actor, action, target, details, prevHash, keyId } = entry;
  return canonicalJson({ seq, at, actor, action, target, details, prevHash, keyId });
}

/** Authenticates an entry with the key ring's signing key. */
export function sealEntry(keys: AuditKeyring, entry: Omit<AuditEntry, 'hash' | 'keyId'>): AuditEntry {
  const unsigned = { ...entry, keyId: keys.signingKeyId };
  return { ...unsigned, hash: keys.mac(keys.signingKeyId, 'entry', entryMessage(unsigned)) };
}

export function entryAuthentic(keys: AuditKeyring, entry: AuditEntry): boolean {
  return keys.check(entry.keyId, 'entry', entryMessage(entry), entry.hash);
}

export type VerifyResult =
  | { ok: true; count: number; lastHash: string }
  | { ok: false; count: number; seq: number; reason: string };

export type Break = { ok: false; count: number; seq: number; reason: string };

/**
 * Checks entries one at a time, in order: sequence without gaps from the start point, each
 * `prevHash` equal to the hash before it, each `hash` the entry's MAC under a known key.
 * Incremental, so a long log is verified page by page. `count` is the entries checked.
 */
export class ChainVerifier {
  private prev: string;
  private seq: number;
  private count = 0;

  constructor(private readonly keys: AuditKeyring, start: ChainPoint = GENESIS) {
    this.prev = start.hash;
    this.seq = start.seq;
  }

  get last(): ChainPoint {
    return { seq: this.seq, hash: this.prev };
  }

  /** Returns the break at this entry, or null when it continues the chain. */
  push(e: AuditEntry): Break | null {
    const expectedSeq = this.seq + 1;
    const broken = (reason: string): Break => ({ ok: false, count: this.count, seq: typeof e.seq === 'number' ? e.seq : expectedSeq, reason });
    if (e.seq !== expectedSeq) return broken(`expected seq ${expectedSeq}, found ${String(e.seq)} (entry missing or reordered)`);
    if (e.prevHash !== this.prev) return broken('prevHash does not match the previous entry');
    if (typeof e.keyId !== 'string' || !this.keys.has(e.keyId)) return broken(`entry is signed with key id '${String(e.keyId)}', which PORTCULLIS_AUDIT_KEY does not hold (entry forged, or the key was dropped too early)`);
    if (!entryAuthentic(this.keys, e)) return broken('hash is not the MAC of the entry content (entry altered or forged)');
    this.prev = e.hash;
    this.seq = e.seq;
    this.count += 1;
    return null;
  }

  /** `expectedHead`, when given, catches a deleted tail (the chain would otherwise look whole). */
  finish(expectedHead?: ChainPoint): VerifyResult {
    if (expectedHead && (expectedHead.seq !== this.seq || expectedHead.hash !== this.prev)) {
      return { ok: false, count: this.count, seq: expectedHead.seq, reason: `log ends at seq ${this.seq} but the head records seq ${expectedHead.seq} (entries deleted)` };
    }
    return { ok: true, count: this.count, lastHash: this.prev };
  }
}

export function verifyChain(keys: AuditKeyring, entries: Iterable<AuditEntry>, expectedHead?: ChainPoint, start?: ChainPoint): VerifyResult {
  const v = new ChainVerifier(keys, start);
  for (const e of entries) {
    const broken = v.push(e);
    if (broken) return broken;
  }
  return v.finish(expectedHead);
}
