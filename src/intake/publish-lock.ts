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
 * so a killed worker blocks nobody for long), shared by every process.
 */
import { AppError } from '../lib/errors';

/** A held lease (structurally the store's RedisStepLease). */
export interface PublishLock {
  held(): boolean;
  release(): Promise<void>;
}

/** Leases shared by every process (structurally the store's RedisStepLeases). */
export interface PublishLocks {
  /** Takes the lease of `key` in `scope`, or returns null when another holder has it. */
  acquire(scope: string, key: string): Promise<PublishLock | null>;
}

export const PUBLISH_LOCK_SCOPE = 'publish';
/** Long enough for a promotion's copy inside the internal registry (mounts, not bytes). */
const DEFAULT_WAIT_MS = 120_000;

/**
 * Runs `fn` while holding the publish lease of `digest` in `repository`; without leases
 * (a test of one run) it just runs `fn`.
 * @throws AppError CONFLICT (temporary: the job is retried) when another holder kept it past `waitMs`
 */
export async function withPublishLock<T>(locks: PublishLocks | undefined, repository: string, digest: string, fn: () => Promise<T>, waitMs = DEFAULT_WAIT_MS): Promise<T> {
  if (!locks) return fn();
  const key = `${repository}@${digest}`;
  const deadline = Date.now() + waitMs;
  let lock: PublishLock | null = null;
  for (let pause = 10; !(lock = await locks.acquire(PUBLISH_LOCK_SCOPE, key)); pause = Math.min(pause * 2, 500)) {
    if (Date.now() >= deadline) {
      throw new AppError('CONFLICT', `another promotion or unpublish of ${key} held it for longer than ${waitMs} ms`, { temporary: true });
    }
    // Jitter, so that waiters released at once do not all ask again in step.
    await new Promise((resolve) => setTimeout(resolve, pause / 2 + Math.random() * pause));
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
