/**
 * Rate limits, counted in memory per API process (with N API replicas a caller gets up to N
 * times the limit, which is enough to stop a runaway script, the purpose here):
 * - per principal: at most `perMinute` requests in a one-minute window that starts at the
 *   principal's first request (not at a wall-clock minute, so a burst cannot straddle a
 *   boundary and get twice the limit);
 * - per client address, before authentication: at most `perMinute` requests that failed
 *   authentication; beyond that every request from the address is refused until its window
 *   ends, so that nobody can try tokens at the server's full speed.
 * Over a limit: 429 RATE_LIMITED with Retry-After.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';

const WINDOW_MS = 60_000;
/** Above this many keys, expired windows are dropped, so that memory stays bounded. */
const PRUNE_ABOVE = 10_000;

/** One window per key, starting at the key's first hit. */
class Windows {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly now: () => number) {}

  private current(key: string, t: number): { start: number; count: number } {
    let w = this.windows.get(key);
    if (!w || t - w.start >= WINDOW_MS) {
      if (this.windows.size > PRUNE_ABOVE) for (const [k, v] of this.windows) if (t - v.start >= WINDOW_MS) this.windows.delete(k);
      w = { start: t, count: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  /** The count so far in the key's window, and the seconds until it ends. */
  peek(key: string): { count: number; retryAfter: number } {
    const t = this.now();
    const w = this.current(key, t);
    return { count: w.count, retryAfter: Math.max(1, Math.ceil((w.start + WINDOW_MS - t) / 1000)) };
  }

  hit(key: string): void {
    this.current(key, this.now()).count += 1;
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
    windows.hit(name);
    const { count, retryAfter } = windows.peek(name);
    if (count > perMinute) return next(limited(res, retryAfter, `more than ${perMinute} requests per minute`));
    next();
  };
}

/** Per client address, for requests that fail authentication; runs before it. 0 disables it. */
export function unauthenticatedRateLimit(perMinute: number, now: () => number = Date.now) {
  const windows = new Windows(now);
  return (req: Request, res: Response, next: NextFunction): void => {
    if (perMinute <= 0) return next();
    // `trust proxy` is off: this is the peer address, which a client cannot forge.
    const address = req.socket.remoteAddress ?? 'unknown';
    const { count, retryAfter } = windows.peek(address);
    if (count >= perMinute) return next(limited(res, retryAfter, `more than ${perMinute} failed authentications per minute from this address`));
    res.once('finish', () => { if (res.statusCode === 401) windows.hit(address); });
    next();
  };
}
