/**
 * Container image strings parsed once per replica, not once per review: a cluster runs the same
 * few thousand images in Pod after Pod, and the reference grammar (distribution's regular
 * expressions) cost more per Pod than the lookups themselves. Bounded: when full the cache starts
 * over, so that a stream of distinct (hostile) strings costs memory no more than CACHE_SIZE entries.
 * Parsed references are frozen: they are shared between reviews.
 */
import { parseReference, type ImageRef } from '../registry';

/**
 * A parsed reference with its lookup keys computed once (cached here, for the approved set's
 * lookups): the same string instances review after review keep their hash, so a lookup hashes nothing.
 */
export interface KeyedRef extends ImageRef {
  /** `registry/repository`. */
  name: string;
  /** `name@digest`, else `name:tag`. */
  key?: string;
}

const CACHE_SIZE = 20_000;
let cache = new Map<string, KeyedRef | null>();

/** The normalized reference of `image`, or null when it is not one (INVALID_REFERENCE). */
export function parsedReference(image: string): KeyedRef | null {
  const hit = cache.get(image);
  if (hit !== undefined) return hit;
  let ref: KeyedRef | null;
  try {
    const parsed = parseReference(image);
    const name = `${parsed.registry}/${parsed.repository}`;
    const key = parsed.digest ? `${name}@${parsed.digest}` : parsed.tag ? `${name}:${parsed.tag}` : undefined;
    ref = Object.freeze({ ...parsed, name, ...(key ? { key } : {}) });
  } catch {
    ref = null;
  }
  if (cache.size >= CACHE_SIZE) cache = new Map();
  cache.set(image, ref);
  return ref;
}

const CANONICAL_CACHE_SIZE = 200_000;
let canonical = new Map<string, boolean>();

/**
 * Whether `ref` is written exactly as its normalized `registry/repository@digest` (no tag, host in
 * lower case, nothing a parse would change): then the string as written is the key a parsed lookup
 * would use, and the approved set may answer it without parsing. Remembered per string, since the
 * same approvals come back at every reload (bounded like the cache above).
 */
export function isCanonicalPinned(ref: string): boolean {
  const hit = canonical.get(ref);
  if (hit !== undefined) return hit;
  let ok: boolean;
  try {
    const parsed = parseReference(ref);
    ok = parsed.digest !== undefined && parsed.tag === undefined && `${parsed.registry}/${parsed.repository}@${parsed.digest}` === ref;
  } catch {
    ok = false;
  }
  if (canonical.size >= CANONICAL_CACHE_SIZE) canonical = new Map();
  canonical.set(ref, ok);
  return ok;
}
