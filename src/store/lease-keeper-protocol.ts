/** What the step-lease keeper (./lease-keeper.ts) and its thread (./lease-keeper-thread.ts) exchange. */

/** Pushes a lease's expiry back, only if the holder's token is still the one there. */
export const RENEW_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

export interface KeeperData {
  renewEveryMs: number;
  /** Renewals stop once the main thread's heartbeat is older than this. */
  maxStallMs: number;
  /** One BigInt64 slot: the main thread's last heartbeat (ms since the epoch). */
  heartbeat: SharedArrayBuffer;
}

export type KeeperMessage =
  | { t: 'hold'; key: string; token: string; ttlMs: number }
  | { t: 'drop'; key: string; token: string }
  | { t: 'stop' };

export type KeeperReply = { t: 'lost'; key: string; token: string } | { t: 'ready' };
