/**
 * Waiting for a lease every process shares and holding it while some work runs: the one loop
 * that the publish lease (intake/publish-lock.ts) and the referrers-index lease
 * (scanners/sbom/referrer-lock.ts) used to write each on their own. It takes the lease, or
 * polls with a doubling, jittered pause until the holder lets go (or its lease lapses: a dead
 * holder's lease expires on its own), gives up after a bound, and releases when the work ends.
 *
 * The leases themselves are the store's Redis step leases (store/redis-step-leases.ts), passed
 * in through the narrow {@link Leases}: renewed while held, lapsing when their holder dies. Here
 * in lib, importing no module, so that every layer can use it (intake, scanners, the jobs in
 * queue/, which may not import the store).
 */
import { AppError } from './errors';

/** A held lease (structurally the store's RedisStepLease). */
export interface Lease {
  /** False once a renewal found the lease gone or taken (its holder was stalled past the TTL). */
  held(): boolean;
  /**
   * Renews the lease now, with a round trip to the store; false when it is no longer this
   * holder's. Without it, {@link HeldLease.check} can only trust `held()`.
   */
  renew?(): Promise<boolean>;
  /** Frees the lease if it is still this holder's. Never throws. */
  release(): Promise<void>;
}

/** Leases shared by every process (structurally the store's RedisStepLeases). */
export interface Leases {
  /** Takes the lease of `key` in `scope`, or returns null when another holder has it. */
  acquire(scope: string, key: string): Promise<Lease | null>;
}

export interface LeaseWaitOptions {
  /** How long to wait for another holder's lease before giving up. */
  waitMs: number;
  /** The longest pause between two tries; pauses start at 10 ms and double. @defaultValue 500 */
  maxPauseMs?: number;
  /**
   * The error thrown when another holder kept the lease past `waitMs`.
   * @defaultValue AppError `CONFLICT`, temporary
   */
  busy?: () => Error;
}

/** What the work is handed: whether it still holds the lease, and a check before a write. */
export interface HeldLease {
  /** False once the lease is known lost (a renewal or a {@link check} found it taken or gone). */
  held(): boolean;
  /**
   * Confirms with the store that the lease is still this holder's, renewing it (a full TTL
   * ahead of the write that follows): call it right before a write only the holder may make.
   * @throws AppError `LEASE_LOST` (temporary: a retry waits for the lease again) when it is not
   */
  check(what?: string): Promise<void>;
}

const FIRST_PAUSE_MS = 10;
const DEFAULT_MAX_PAUSE_MS = 500;

/** Held without a store (one process, nothing to share): always held. */
const UNSHARED: HeldLease = { held: () => true, check: async () => undefined };

/** Takes the lease of `key` in `scope`, waiting for another holder at most `waitMs`. */
async function take(leases: Leases, scope: string, key: string, options: LeaseWaitOptions): Promise<Lease> {
  const deadline = Date.now() + options.waitMs;
  const maxPause = options.maxPauseMs ?? DEFAULT_MAX_PAUSE_MS;
  for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, maxPause)) {
    const lease = await leases.acquire(scope, key);
    if (lease) return lease;
    if (Date.now() >= deadline) {
      throw options.busy?.() ?? new AppError('CONFLICT', `another holder kept the ${scope} lease of ${key} for longer than ${options.waitMs} ms`, { temporary: true });
    }
    // Jitter, so that waiters released at once do not all ask again in step.
    await new Promise((resolve) => setTimeout(resolve, pause / 2 + Math.random() * pause));
  }
}

function holding(lease: Lease, scope: string, key: string): HeldLease {
  let lost = false;
  const held = (): boolean => !lost && lease.held();
  return {
    held,
    check: async (what) => {
      // A renewal that cannot reach the store throws: the write is not made either, and is retried.
      if (held() && (!lease.renew || await lease.renew())) return;
      lost = true;
      throw new AppError('LEASE_LOST', `the ${scope} lease of ${key} lapsed under its holder (stalled past its TTL)${what ? ` before ${what}` : ''}; not done, to be retried`, { temporary: true });
    },
  };
}

/**
 * Runs `fn` while holding the lease of `key` in `scope`, released when `fn` settles; without
 * `leases` it just runs `fn` (nothing to share).
 * @throws the `busy` error (by default AppError `CONFLICT`, temporary) when another holder kept it past `waitMs`
 */
export async function withLease<T>(leases: Leases | undefined, scope: string, key: string, options: LeaseWaitOptions, fn: (lease: HeldLease) => Promise<T>): Promise<T> {
  if (!leases) return fn(UNSHARED);
  const lease = await take(leases, scope, key, options);
  try {
    return await fn(holding(lease, scope, key));
  } finally {
    await lease.release();
  }
}
