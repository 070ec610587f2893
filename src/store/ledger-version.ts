/**
 * The ledger's version: one counter that every write the admission webhook's in-memory set
 * depends on increments in the same MULTI as the write (approvals and their tags, revocations,
 * break-glass exceptions). A webhook replica's periodic resync reads this one key and loads the
 * whole ledger only when it moved (src/admission/sync.ts), instead of every 30 s.
 */
import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';

export function ledgerVersionKey(prefix: string): string {
  return `${prefix}:ledger:version`;
}

/**
 * Runs `queue`'s commands and the version's increment as one MULTI; the first command's reply,
 * or its error (thrown, as the command alone would throw it).
 */
export async function writeWithVersion(redis: Redis, versionKey: string, queue: (m: ChainableCommander) => ChainableCommander): Promise<unknown> {
  const results = await queue(redis.multi()).incr(versionKey).exec();
  if (!results) throw new Error(`ledger write aborted (${versionKey})`);
  for (const [err] of results) if (err) throw err;
  return results[0][1];
}
