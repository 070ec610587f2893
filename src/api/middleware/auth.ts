/**
 * Bearer authentication: `Authorization: Bearer <token>` → a Principal from the identity
 * provider, kept in `res.locals.principal`. No or unknown token → 401 UNAUTHENTICATED; a token
 * recognised but refused → the provider's code (401 TOKEN_EXPIRED…, 403 IDENTITY_UNMAPPED); the
 * error handler adds `WWW-Authenticate: Bearer`. The token itself is never logged.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../lib/errors';
import type { IdentityProvider, Principal } from '../../lib/identity/types';

export function authenticate(idp: IdentityProvider) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return next(new AppError('UNAUTHENTICATED', 'a bearer token is required'));
    let principal;
    try {
      principal = await idp.authenticate(match[1]);
    } catch (err) {
      // A refused token (TOKEN_EXPIRED, IDENTITY_UNMAPPED, ISSUER_UNAVAILABLE…) says why; anything else fails closed as a 500.
      // The access line then says a sign-in failed (request-context.ts), a 403 as well as a 401.
      res.locals.authRefused = true;
      return next(err);
    }
    if (!principal) return next(new AppError('UNAUTHENTICATED', 'the bearer token is not valid'));
    res.locals.principal = principal;
    next();
  };
}

/** The authenticated caller of this request (set by {@link authenticate}). */
export function principalOf(res: Response): Principal {
  const p = res.locals.principal as Principal | undefined;
  if (!p) throw new AppError('UNAUTHENTICATED', 'a bearer token is required');
  return p;
}
