/**
 * Rate limits, counted in Redis so that N API replicas share one limit (see
 * lib/rate-counter.ts for the window and why it is a small Lua counter):
 * - per principal: at most `perMinute` requests in a one-minute window that starts at the
 *   principal's first request;
 * - per client address: at most `perMinute` requests that failed authentication; beyond that
 *   requests from the address that fail authentication (no token, a bad one) answer 429
 *   instead of 401 until its window ends, so that nobody can try tokens at the server's full
 *   speed. A request with a valid token still passes (to its per-principal limit): behind a
 *   proxy every client shares one peer address (`trust proxy` is off), and one client's bad
 *   tokens must not lock out the others. An address is counted only when it fails
 *   authentication, and its key expires with its window, so Redis memory stays bounded.
 * Over a limit: 429 RATE_LIMITED with Retry-After.
 *
 * Redis away: fail closed. The limiter's error goes to the error handler, which answers 503
 * DEPENDENCY_UNAVAILABLE: every /v1 route needs Redis anyway, and failing open would let
 * anyone try tokens at full speed for as long as Redis stays down.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';
import type { RateCounter } from '../../lib/rate-counter';

function limited(res: Response, retryAfter: number, what: string): AppError {
  res.setHeader('Retry-After', String(retryAfter));
  return new AppError('RATE_LIMITED', what);
}

/** Per principal; runs after authentication. 0 disables it. `counter` keys are principal names. */
export function rateLimit(perMinute: number, counter: RateCounter) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (perMinute <= 0) return next();
    const name = (res.locals.principal as Principal | undefined)?.name ?? '';
    counter.hit(name).then(({ count, retryAfter }) => {
      if (count > perMinute) return next(limited(res, retryAfter, `more than ${perMinute} requests per minute`));
      next();
    }, next);
  };
}

/**
 * Per client address, for requests that fail authentication. Mount the middleware before
 * authentication and its `refuse` error handler right after it: the middleware counts the
 * address's 401 answers, `refuse` turns the authentication failure of a limited address into
 * 429. 0 disables it. `counter` keys are peer addresses.
 */
export function unauthenticatedRateLimit(perMinute: number, counter: RateCounter) {
  const addressOf = (req: Request): string => req.socket.remoteAddress ?? 'unknown'; // `trust proxy` is off: the peer address, which a client cannot forge
  const count = (req: Request, res: Response, next: NextFunction): void => {
    if (perMinute <= 0) return next();
    const address = addressOf(req);
    res.once('finish', () => {
      if (res.statusCode !== 401) return;
      // The answer is sent: a count that fails (Redis away) can only be logged. While Redis is
      // away `refuse` cannot read the count either and answers 503, so nothing slips through.
      counter.hit(address).catch((err: unknown) => req.log?.warn({ error: err }, 'failed authentication not counted'));
    });
    next();
  };
  const refuse = (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (!(perMinute > 0 && err instanceof AppError && err.code === 'UNAUTHENTICATED')) return next(err);
    counter.peek(addressOf(req)).then(({ count: failed, retryAfter }) => {
      if (failed >= perMinute) return next(limited(res, retryAfter, `more than ${perMinute} failed authentications per minute from this address`));
      next(err);
    }, next);
  };
  return Object.assign(count, { refuse });
}
