/**
 * The archive anchor: after `audit archive` trims the oldest entries from Redis, the chain
 * there starts from the last archived entry (seq and hash), kept in `{prefix}:audit:anchor`
 * with a MAC so that a Redis writer can neither move it forward over entries they delete nor
 * invent one. No anchor: the chain starts at genesis.
 */
import type Redis from 'ioredis';
import { canonicalJson, GENESIS, type ChainPoint } from './chain';
import type { AuditKeyring } from './keys';
import type { AuditKeys } from './outbox';

const message = (prefix: string, p: ChainPoint): string => canonicalJson({ prefix, seq: p.seq, hash: p.hash });

export function signAnchor(keys: AuditKeyring, prefix: string, point: ChainPoint): { keyId: string; mac: string } {
  return keys.sign('anchor', message(prefix, point));
}

export type AnchorRead = { ok: true; point: ChainPoint; archivedAt?: string } | { ok: false; seq: number; reason: string };

export async function readAnchor(redis: Redis, keys: AuditKeys, ring: AuditKeyring, prefix: string): Promise<AnchorRead> {
  const raw = await redis.hgetall(keys.anchor);
  if (Object.keys(raw).length === 0) return { ok: true, point: GENESIS };
  const point = { seq: Number(raw.seq), hash: raw.hash ?? '' };
  if (!Number.isInteger(point.seq) || point.seq < 1 || !ring.check(raw.keyId, 'anchor', message(prefix, point), raw.mac)) {
    return { ok: false, seq: Number.isInteger(point.seq) ? point.seq : 0, reason: 'the archive anchor is not signed by a key of PORTCULLIS_AUDIT_KEY (anchor forged or altered)' };
  }
  return { ok: true, point, archivedAt: raw.at };
}

/**
 * KEYS: stream, anchor, head. ARGV: expected anchor seq ('0' = none), new seq, new hash,
 * keyId, mac, at. Moves the anchor and trims the entries up to it in one step, only if the
 * anchor is still the one the archive started from and the entry at the new anchor is the one
 * archived (checked by its hash), so two archivers, or an archiver racing a rewrite, cannot
 * trim what was not exported. Returns the number of entries trimmed, or -1/-2 on a conflict.
 */
export const TRIM_TO_ANCHOR = `
local cur = redis.call('HGET', KEYS[2], 'seq') or '0'
if cur ~= ARGV[1] then return -1 end
local rows = redis.call('XRANGE', KEYS[1], ARGV[2] .. '-1', ARGV[2] .. '-1')
if #rows == 0 then return -2 end
local fields = rows[1][2]
local entry
for i = 1, #fields, 2 do if fields[i] == 'entry' then entry = cjson.decode(fields[i + 1]) end end
if not entry or entry.hash ~= ARGV[3] then return -2 end
redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'hash', ARGV[3], 'keyId', ARGV[4], 'mac', ARGV[5], 'at', ARGV[6])
return redis.call('XTRIM', KEYS[1], 'MINID', (tonumber(ARGV[2]) + 1) .. '-0')
`;
