/**
 * One writer at a time of an image's presence in an approved repository (`repository` +
 * digest): promotion's publish (copy, check, ledger entry) and the unpublish job (ledger
 * check, referrers detached, manifest deleted) each run their check and their write under
 * this lease. Without it a re-approval whose promotion landed between the unpublish job's
 * check ("no completed approval serves this digest") and its delete left the ledger saying
 * approved while the image and its SBOM referrer were gone; with it, an unpublish that checked
 * first deletes before the promotion copies again, and one that checks after sees the approval.
 *
 * The lease is the store's Redis step lease (renewed while held, lapsing when its holder dies,
 * so a killed worker blocks nobody for long), shared by every process. A holder stalled past
 * its TTL may find another holder inside: so `fn` calls `lease.check()` right before each
 * write, which confirms and renews the lease in Redis or fails with `LEASE_LOST` (temporary).
 */
import { AppError } from '../lib/errors';
import { withLease, type HeldLease, type Lease, type Leases } from '../lib/lease-wait';

/** A held lease (structurally the store's RedisStepLease). */
export type PublishLock = Lease;

/** Leases shared by every process (structurally the store's RedisStepLeases). */
export type PublishLocks = Leases;

export const PUBLISH_LOCK_SCOPE = 'publish';
/** Long enough for a promotion's copy inside the internal registry (mounts, not bytes). */
const DEFAULT_WAIT_MS = 120_000;

/**
 * Runs `fn` while holding the publish lease of `digest` in `repository`; without leases
 * (a test of one run) it just runs `fn`.
 * @throws AppError CONFLICT (temporary: the job is retried) when another holder kept it past `waitMs`;
 *   `fn`'s `lease.check()` throws AppError LEASE_LOST (temporary) once the lease lapsed under it
 */
export function withPublishLock<T>(locks: PublishLocks | undefined, repository: string, digest: string, fn: (lease: HeldLease) => Promise<T>, waitMs = DEFAULT_WAIT_MS): Promise<T> {
  const key = `${repository}@${digest}`;
  return withLease(locks, PUBLISH_LOCK_SCOPE, key, {
    waitMs,
    maxPauseMs: 500,
    busy: () => new AppError('CONFLICT', `another promotion or unpublish of ${key} held it for longer than ${waitMs} ms`, { temporary: true }),
  }, fn);
}
