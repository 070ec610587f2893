/**
 * One writer at a time of a referrers index (`<repository>` + subject digest). The referrers
 * tag schema is a read-modify-write of one tag, and docker-registry 2.8 has no conditional PUT
 * (no If-Match on manifests): two writers that read the same index each write back their own
 * version, and the one written first loses its referrer. Re-reading after the write cannot
 * catch that (the other writer may replace ours just after we checked), so writers take turns:
 * - inside one process, through a promise chain per key (no round trip, no polling);
 * - across processes (two workers, an API and a worker), through a lease in the store every
 *   process shares ({@link ReferrerLocks}, the Redis step leases), renewed while held and
 *   lapsing on its own when its holder dies, so a killed worker blocks nobody for long.
 */
import { AppError } from '../../lib/errors';
import { withLease, type Lease, type Leases } from '../../lib/lease-wait';

/** A held lease (structurally the store's RedisStepLease): `held()` is false once it lapsed under its holder. */
export type ReferrerLock = Lease;

/** Leases shared by every process (structurally the store's RedisStepLeases). */
export type ReferrerLocks = Leases;

export interface ReferrerLockOptions {
  /** Leases shared across processes; without them writers take turns only inside this process. */
  locks?: ReferrerLocks;
  /** How long to wait for another writer's lease before giving up. @defaultValue 30 s */
  waitMs?: number;
}

export const LOCK_SCOPE = 'sbom-referrers';
const DEFAULT_WAIT_MS = 30_000;

const local = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call with the same key in this process has settled. */
async function serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = local.get(key) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const tail = run.then(() => undefined, () => undefined);
  local.set(key, tail);
  try {
    return await run;
  } finally {
    if (local.get(key) === tail) local.delete(key);
  }
}

/**
 * Runs `fn` as the one writer of the referrers index of `subject` in `repository`; `fn` is
 * told whether its lease is still held, to re-check before trusting a write.
 */
export function withReferrersLock<T>(repository: string, subject: string, options: ReferrerLockOptions, fn: (held: () => boolean) => Promise<T>): Promise<T> {
  const key = `${repository}@${subject}`;
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  return serially(key, () => withLease(options.locks, LOCK_SCOPE, key, {
    waitMs,
    maxPauseMs: 200,
    // Not `temporary`: the wait was already long, and an immediate retry of the whole attach
    // would only wait again; the caller's own later retry (the unpublish job) is the one that helps.
    busy: () => new AppError('CONFLICT', `another writer held the referrers index of ${key} for longer than ${waitMs} ms`),
  }, (lease) => fn(() => lease.held())));
}
