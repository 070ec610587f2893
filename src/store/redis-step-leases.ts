/**
 * Leases on pipeline steps, in Redis: while one run of a request's step holds the lease, a
 * second run of the same step (BullMQ handed the job out again because its lock lapsed while
 * the first run was busy) finds it taken and backs off. BullMQ's lock alone cannot promise
 * that: it is renewed from the event loop, and a worker busy for longer than the lock (a
 * 20,000-entry index parsed on a loaded machine) loses it while its step goes on.
 *
 * A lease is `step-lease:{step}:{requestId}` = a random token, set only if absent, with a TTL,
 * renewed by its holder; renewal and release act only if the token is still the holder's, so a
 * run whose lease lapsed never frees another's. With a {@link LeaseKeeper} (main.ts) renewals
 * run on a thread of their own, so the TTL can be short (a killed worker's step is taken over
 * seconds after its death) without a busy main thread losing its lease; without one they run
 * on a timer of the event loop, and the TTL must outlast its longest stall.
 * Structurally the intake's StepLeases (the store does not import intake).
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { LeaseKeeper } from './lease-keeper';
import { RENEW_LEASE as RENEW } from './lease-keeper-protocol';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** The scripts defined on the connection (see the constructor). */
interface LeaseScripts {
  portcullisLeaseRenew(key: string, token: string, ttlMs: string): Promise<unknown>;
  portcullisLeaseRelease(key: string, token: string): Promise<unknown>;
}

export interface RedisStepLeaseOptions {
  /** How long a lease outlives its holder's last renewal (a killed worker's lease lapses after this). */
  ttlMs: number;
  /** How often the holder renews. @defaultValue a third of `ttlMs` */
  renewEveryMs?: number;
  /** Renews from its own thread instead of the event loop (its own TTL and period then apply). */
  keeper?: LeaseKeeper;
}

/** A held lease: renewed until released. */
export interface RedisStepLease {
  /** False once a renewal found the lease gone or taken (its holder was stalled past the TTL). */
  held(): boolean;
  /**
   * Renews now (a round trip), to be sure of the lease right before a write only its holder may
   * make; false (and `held()` false from then on) when it is no longer this holder's.
   * @throws the Redis error when Redis cannot be reached
   */
  renew(): Promise<boolean>;
  /** Stops renewing and frees the lease if it is still this holder's. Never throws. */
  release(): Promise<void>;
}

export class RedisStepLeases {
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;

  private readonly keeper: LeaseKeeper | undefined;

  constructor(private readonly redis: Redis, private readonly prefix: string, options: RedisStepLeaseOptions) {
    // EVALSHA, not EVAL with the script each time (every step run releases its lease).
    if (!('portcullisLeaseRenew' in redis)) redis.defineCommand('portcullisLeaseRenew', { numberOfKeys: 1, lua: RENEW });
    if (!('portcullisLeaseRelease' in redis)) redis.defineCommand('portcullisLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
    this.ttlMs = options.ttlMs;
    this.keeper = options.keeper;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(options.ttlMs / 3));
  }

  private get scripts(): Redis & LeaseScripts {
    return this.redis as Redis & LeaseScripts;
  }

  key(step: string, requestId: string): string {
    return `${this.prefix}:step-lease:${step}:${requestId}`;
  }

  /** How long the lease of `step` of `requestId` still runs without a renewal; null when nobody holds it. */
  async remainingMs(step: string, requestId: string): Promise<number | null> {
    const ms = await this.redis.pttl(this.key(step, requestId));
    return ms >= 0 ? ms : null;
  }

  /** Takes the lease of `step` of `requestId`, or returns null when another run holds it. */
  async acquire(step: string, requestId: string): Promise<RedisStepLease | null> {
    const key = this.key(step, requestId);
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return null;
    let held = true;
    const renew = async (): Promise<boolean> => {
      if (Number(await this.scripts.portcullisLeaseRenew(key, token, String(this.ttlMs))) !== 1) held = false;
      return held;
    };
    const keeper = this.keeper;
    if (keeper) {
      keeper.hold(key, token, this.ttlMs, () => { held = false; });
      return {
        held: () => held,
        renew,
        release: async () => {
          keeper.drop(key, token);
          await this.scripts.portcullisLeaseRelease(key, token).catch(() => undefined);
        },
      };
    }
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = this.scripts.portcullisLeaseRenew(key, token, String(this.ttlMs))
        .then((n) => { if (Number(n) !== 1) held = false; })
        // A Redis blip: the next renewal tries again; the TTL leaves room for a few misses.
        .catch(() => undefined);
    }, this.renewEveryMs);
    // A lease must never keep a process alive on its own.
    timer.unref();
    return {
      held: () => held,
      renew,
      release: async () => {
        clearInterval(timer);
        await renewing;
        await this.scripts.portcullisLeaseRelease(key, token).catch(() => undefined);
      },
    };
  }
}
