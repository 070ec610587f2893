/**
 * Rate limits, counted in memory per API process (with N API replicas a caller gets up to N
 * times the limit, which is enough to stop a runaway script, the purpose here):
 * - per principal: at most `perMinute` requests in a one-minute window that starts at the
 *   principal's first request (not at a wall-clock minute, so a burst cannot straddle a
 *   boundary and get twice the limit);
 * - per client address: at most `perMinute` requests that failed authentication; beyond that
 *   requests from the address that fail authentication (no token, a bad one) answer 429
 *   instead of 401 until its window ends, so that nobody can try tokens at the server's full
 *   speed. A request with a valid token still passes (to its per-principal limit): behind a
 *   proxy every client shares one peer address (`trust proxy` is off), and one client's bad
 *   tokens must not lock out the others. An address gets an entry only when it fails
 *   authentication; expired entries are dropped from the front of the insertion-ordered map
 *   and at most {@link MAX_KEYS} are kept (the oldest goes first), so memory and CPU stay
 *   bounded whatever the number of addresses.
 * Over a limit: 429 RATE_LIMITED with Retry-After.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';

const WINDOW_MS = 60_000;
/** Keys (principals, addresses) tracked at most per limiter. */
export const MAX_KEYS = 10_000;

interface Window { start: number; count: number }

/**
 * One window per key, starting at the key's first hit. The map is kept in window-start order
 * (a renewed window is re-inserted at the end), so expired windows are always at its front.
 */
class Windows {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly now: () => number, private readonly maxKeys = MAX_KEYS) {}

  get size(): number {
    return this.windows.size;
  }

  private live(key: string, t: number): Window | undefined {
    const w = this.windows.get(key);
    return w && t - w.start < WINDOW_MS ? w : undefined;
  }

  private info(w: Window, t: number): { count: number; retryAfter: number } {
    return { count: w.count, retryAfter: Math.max(1, Math.ceil((w.start + WINDOW_MS - t) / 1000)) };
  }

  /** The count in the key's current window and the seconds until it ends; creates nothing. */
  peek(key: string): { count: number; retryAfter: number } {
    const t = this.now();
    const w = this.live(key, t);
    return w ? this.info(w, t) : { count: 0, retryAfter: 0 };
  }

  /** Counts one more for the key (starting its window if none is running); returns the new state. */
  hit(key: string): { count: number; retryAfter: number } {
    const t = this.now();
    let w = this.live(key, t);
    if (!w) {
      this.windows.delete(key);
      for (const [k, v] of this.windows) {
        if (t - v.start < WINDOW_MS) break;
        this.windows.delete(k);
      }
      while (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value as string);
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    return this.info(w, t);
  }
}

function limited(res: Response, retryAfter: number, what: string): AppError {
  res.setHeader('Retry-After', String(retryAfter));
  return new AppError('RATE_LIMITED', what);
}

/** Per principal; runs after authentication. 0 disables it. */
export function rateLimit(perMinute: number, now: () => number = Date.now) {
  const windows = new Windows(now);
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (perMinute <= 0) return next();
    const name = (res.locals.principal as Principal | undefined)?.name ?? '';
    const { count, retryAfter } = windows.hit(name);
    if (count > perMinute) return next(limited(res, retryAfter, `more than ${perMinute} requests per minute`));
    next();
  };
}

/**
 * Per client address, for requests that fail authentication. Mount the middleware before
 * authentication and its `refuse` error handler right after it: the middleware counts the
 * address's 401 answers, `refuse` turns the authentication failure of a limited address into
 * 429. 0 disables it. `tracked()` is the number of addresses held.
 */
export function unauthenticatedRateLimit(perMinute: number, now: () => number = Date.now) {
  const windows = new Windows(now);
  const addressOf = (req: Request): string => req.socket.remoteAddress ?? 'unknown'; // `trust proxy` is off: the peer address, which a client cannot forge
  const count = (req: Request, res: Response, next: NextFunction): void => {
    if (perMinute <= 0) return next();
    const address = addressOf(req);
    res.once('finish', () => { if (res.statusCode === 401) windows.hit(address); });
    next();
  };
  const refuse = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (perMinute > 0 && err instanceof AppError && err.status === 401) {
      const { count: failed, retryAfter } = windows.peek(addressOf(req));
      if (failed >= perMinute) return next(limited(res, retryAfter, `more than ${perMinute} failed authentications per minute from this address`));
    }
    next(err);
  };
  return Object.assign(count, { refuse, tracked: () => windows.size });
}
