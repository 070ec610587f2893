/**
 * The console's rate limits, counted in Redis like the API's (src/lib/rate-counter.ts, shared
 * by every replica):
 * - per signed-in principal: every page, fragment and form post after the session check counts,
 *   at most `ui.rateLimitPerMinute` in a window that starts at the first (assets do not count);
 * - per client address: every sign-in attempt (right token or wrong) counts, at most
 *   `ui.signInPerMinute`, so nobody tries tokens at the server's speed even from a fresh login
 *   form each time. Failed sign-ins also count against the API's failed-authentication limit.
 * Over a limit: 429 RATE_LIMITED with Retry-After, as a page (or JSON for a fetch), naming the
 * limit and never what was sent. Redis away: the error goes to the error page (503), fail closed.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { ConsoleLimits } from './deps';

function refuse(res: Response, retryAfter: number, what: string): AppError {
  res.setHeader('Retry-After', String(retryAfter));
  return new AppError('RATE_LIMITED', what);
}

/** After the session check: counts the request against its principal. */
export function principalLimit(limits: ConsoleLimits | undefined) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const l = limits?.principal;
    if (!l || l.perMinute <= 0) return next();
    // Runs after requireSession, which sets res.locals.ui (read here, not through ./auth, which uses this file).
    const principal = (res.locals.ui as { principal?: Principal } | undefined)?.principal;
    if (!principal) return next(new AppError('UNAUTHENTICATED', 'sign in first'));
    l.counter.hit(principal.name).then(({ count, retryAfter }) => {
      if (count > l.perMinute) return next(refuse(res, retryAfter, `more than ${l.perMinute} console requests per minute`));
      next();
    }, next);
  };
}

/**
 * Counts one sign-in attempt from the request's peer address (`trust proxy` is off: an address
 * a client cannot forge); returns the refusal when over the limit, else null.
 */
export async function signInAttempt(limits: ConsoleLimits | undefined, req: Request, res: Response): Promise<AppError | null> {
  const l = limits?.signIn;
  if (!l || l.perMinute <= 0) return null;
  const { count, retryAfter } = await l.counter.hit(req.socket.remoteAddress ?? 'unknown');
  return count > l.perMinute ? refuse(res, retryAfter, `more than ${l.perMinute} sign-in attempts per minute from this address`) : null;
}
