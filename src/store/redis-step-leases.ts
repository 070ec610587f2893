/**
 * Leases on pipeline steps, in Redis: while one run of a request's step holds the lease, a
 * second run of the same step (BullMQ handed the job out again because its lock lapsed while
 * the first run was busy) finds it taken and backs off. BullMQ's lock alone cannot promise
 * that: it is renewed from the event loop, and a worker busy for longer than the lock (a
 * 20,000-entry index parsed on a loaded machine) loses it while its step goes on.
 *
 * A lease is `step-lease:{step}:{requestId}` = a random token, set only if absent, with a TTL
 * several times BullMQ's lock, renewed by its holder on a timer; renewal and release act only
 * if the token is still the holder's, so a run whose lease lapsed never frees another's.
 * Structurally the intake's StepLeases (the store does not import intake).
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface RedisStepLeaseOptions {
  /** How long a lease outlives its holder's last renewal (a killed worker's lease lapses after this). */
  ttlMs: number;
  /** How often the holder renews. @defaultValue a third of `ttlMs` */
  renewEveryMs?: number;
}

/** A held lease: renewed until released. */
export interface RedisStepLease {
  /** False once a renewal found the lease gone or taken (its holder was stalled past the TTL). */
  held(): boolean;
  /** Stops renewing and frees the lease if it is still this holder's. Never throws. */
  release(): Promise<void>;
}

export class RedisStepLeases {
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;

  constructor(private readonly redis: Redis, private readonly prefix: string, options: RedisStepLeaseOptions) {
    this.ttlMs = options.ttlMs;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(options.ttlMs / 3));
  }

  key(step: string, requestId: string): string {
    return `${this.prefix}:step-lease:${step}:${requestId}`;
  }

  /** Takes the lease of `step` of `requestId`, or returns null when another run holds it. */
  async acquire(step: string, requestId: string): Promise<RedisStepLease | null> {
    const key = this.key(step, requestId);
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return null;
    let held = true;
    let renewing: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      renewing = this.redis.eval(RENEW, 1, key, token, String(this.ttlMs))
        .then((n) => { if (Number(n) !== 1) held = false; })
        // A Redis blip: the next renewal tries again; the TTL leaves room for a few misses.
        .catch(() => undefined);
    }, this.renewEveryMs);
    // A lease must never keep a process alive on its own.
    timer.unref();
    return {
      held: () => held,
      release: async () => {
        clearInterval(timer);
        await renewing;
        await this.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      },
    };
  }
}
