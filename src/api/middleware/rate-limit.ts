/**
 * A per-principal rate limit: at most `perMinute` requests in each fixed one-minute window,
 * then 429 RATE_LIMITED with Retry-After. Counted in memory, per API process: with N API
 * replicas a principal gets up to N times the limit, which is enough to stop a runaway
 * script, the purpose here.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';

const WINDOW_MS = 60_000;

export function rateLimit(perMinute: number, now: () => number = Date.now) {
  let windowStart = now();
  let counts = new Map<string, number>();
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (perMinute <= 0) return next();
    const t = now();
    if (t - windowStart >= WINDOW_MS) {
      windowStart = t;
      counts = new Map();
    }
    const name = (res.locals.principal as Principal | undefined)?.name ?? '';
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    if (count > perMinute) {
      res.setHeader('Retry-After', String(Math.ceil((windowStart + WINDOW_MS - t) / 1000)));
      return next(new AppError('RATE_LIMITED', `more than ${perMinute} requests per minute`));
    }
    next();
  };
}
