/**
 * Fixed-window counters in Redis, shared by every API replica (one replica alone would
 * otherwise allow N times the limit with N replicas). A window starts at the key's first hit,
 * not at a wall-clock minute, so a burst cannot straddle a boundary and get twice the limit.
 *
 * Why a small Lua script and not express-rate-limit + rate-limit-redis: the per-address limit
 * counts only failed authentications (after the response, on 401) and checks the count only
 * when authentication fails, so that a valid token from a limited address still passes;
 * express-rate-limit counts before the route and blocks every request of a limited key, and
 * bending it to this rule (skip, requestWasSuccessful, a custom handler) leaves little of it.
 * Two ten-line scripts keep the rule exact, atomic across replicas, and bounded in memory:
 * each key expires with its window, whatever the number of addresses.
 *
 * The window is measured with the caller's clock (passed in, so tests control it); replicas
 * are expected to keep NTP time. Redis expires each key when its window ends, by Redis's clock.
 */
import type Redis from 'ioredis';

export interface RateWindow {
  /** Hits in the key's current window (0 when none is running). */
  count: number;
  /** Seconds until the window ends (at least 1 while one runs; 0 when none is running). */
  retryAfter: number;
}

/** Counts hits per key in a window that starts at the key's first hit. */
export interface RateCounter {
  /** Counts one more hit for `key`, starting its window if none runs; returns the new state. */
  hit(key: string): Promise<RateWindow>;
  /** The state of `key`'s window; creates nothing. */
  peek(key: string): Promise<RateWindow>;
}

export const RATE_WINDOW_MS = 60_000;

// KEYS[1]: a hash {start, count}. ARGV: now (ms), window (ms), hits (default 1). Returns {count, ms left}.
const HIT = `
local now, win, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3] or '1')
local start = tonumber(redis.call('HGET', KEYS[1], 'start'))
if not start or now - start >= win or start - now >= win then
  start = now
  redis.call('HSET', KEYS[1], 'start', start, 'count', 0)
end
local count = redis.call('HINCRBY', KEYS[1], 'count', n)
local left = math.min(start + win - now, win)
redis.call('PEXPIRE', KEYS[1], left)
return {count, left}`;

const PEEK = `
local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'start', 'count')
local start = tonumber(v[1])
if not start or now - start >= win or start - now >= win then return {0, 0} end
return {tonumber(v[2]) or 0, math.min(start + win - now, win)}`;

type Counting = Redis & {
  portcullisRateHit(key: string, now: number, windowMs: number, hits?: number): Promise<[number, number]>;
  portcullisRatePeek(key: string, now: number, windowMs: number): Promise<[number, number]>;
};

export class RedisRateCounter implements RateCounter {
  private readonly redis: Counting;

  /** Keys are `${keyPrefix}:${key}`; give each limiter its own prefix. */
  constructor(redis: Redis, private readonly keyPrefix: string, private readonly now: () => number = Date.now, private readonly windowMs = RATE_WINDOW_MS) {
    // defineCommand runs EVALSHA, falling back to EVAL once per connection.
    if (!('portcullisRateHit' in redis)) {
      redis.defineCommand('portcullisRateHit', { numberOfKeys: 1, lua: HIT });
      redis.defineCommand('portcullisRatePeek', { numberOfKeys: 1, lua: PEEK });
    }
    this.redis = redis as Counting;
  }

  private window([count, leftMs]: [number, number]): RateWindow {
    return { count, retryAfter: count === 0 ? 0 : Math.max(1, Math.ceil(leftMs / 1000)) };
  }

  async hit(key: string): Promise<RateWindow> {
    return this.window(await this.redis.portcullisRateHit(`${this.keyPrefix}:${key}`, this.now(), this.windowMs));
  }

  /** Counts `hits` at once; returns the new count and the ms left in the window. */
  async hitMany(key: string, hits: number): Promise<{ count: number; leftMs: number }> {
    const [count, leftMs] = await this.redis.portcullisRateHit(`${this.keyPrefix}:${key}`, this.now(), this.windowMs, hits);
    return { count, leftMs };
  }

  async peek(key: string): Promise<RateWindow> {
    return this.window(await this.redis.portcullisRatePeek(`${this.keyPrefix}:${key}`, this.now(), this.windowMs));
  }
}

/** `sending`: hits a flush has sent and Redis has not answered yet (counted until it has). */
interface Local { count: number; pending: number; sending: number; endsAt: number }

/**
 * A shared counter that costs no Redis round trip per hit: the first hit of a key in a window
 * goes to Redis (and learns the window), later ones are counted here and sent to Redis as one
 * increment per key every `flushMs`. What this replica answers is the shared count it last
 * learned plus its own hits since (those of a flush still waiting on Redis too), so it never
 * under-counts its own traffic; it can miss the
 * other replicas' hits of the last `flushMs`, which lets a principal exceed the limit by about
 * that much of their traffic: a rate limit's precision, not a security boundary (failed
 * authentications are counted per address by the exact counter, see rate-limit.ts).
 * Redis away fails closed: a flush that fails forgets the key, so its next hit goes to Redis
 * and fails (503) until Redis answers.
 */
export class BatchedRateCounter implements RateCounter {
  private readonly local = new Map<string, Local>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly shared: RedisRateCounter, private readonly flushMs = 100, private readonly now: () => number = Date.now) {}

  async hit(key: string): Promise<RateWindow> {
    const now = this.now();
    const l = this.local.get(key);
    if (l && now < l.endsAt) {
      l.pending++;
      this.schedule();
      return { count: l.count + l.sending + l.pending, retryAfter: Math.max(1, Math.ceil((l.endsAt - now) / 1000)) };
    }
    // A new window here: ask Redis, with any hits still pending (conservative: they count in the new one).
    const pending = (l?.pending ?? 0) + (l?.sending ?? 0);
    this.local.delete(key);
    const { count, leftMs } = await this.shared.hitMany(key, 1 + pending);
    const mine = this.local.get(key); // another hit of the key may have learned the window meanwhile
    if (mine) mine.count = Math.max(mine.count, count);
    else this.local.set(key, { count, pending: 0, sending: 0, endsAt: this.now() + leftMs });
    return { count: mine ? mine.count + mine.sending + mine.pending : count, retryAfter: Math.max(1, Math.ceil(leftMs / 1000)) };
  }

  peek(key: string): Promise<RateWindow> {
    return this.shared.peek(key);
  }

  /** Sends every pending hit to Redis now (also what the timer does). */
  async flush(): Promise<void> {
    this.timer = null;
    const now = this.now();
    await Promise.all([...this.local].map(async ([key, l]) => {
      if (l.pending === 0) {
        if (now >= l.endsAt) this.local.delete(key);
        return;
      }
      // Still counted while Redis has not answered: hits of this replica meanwhile must see them.
      const hits = l.pending;
      l.pending = 0;
      l.sending += hits;
      try {
        const { count, leftMs } = await this.shared.hitMany(key, hits);
        l.sending -= hits;
        l.count = count;
        l.endsAt = this.now() + leftMs;
      } catch {
        this.local.delete(key); // fail closed: the next hit asks Redis itself
      }
    }));
  }

  /** Stops the timer (pending hits are dropped: the process is stopping). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { void this.flush(); }, this.flushMs);
    this.timer.unref();
  }
}
