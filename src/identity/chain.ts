/**
 * The IdentityProvider the API uses: a JWT goes to the provider of its (unverified) issuer,
 * which then verifies it against that issuer's keys; any other token is tried against the
 * static providers in order (robot accounts, the tokens file). A JWT from an issuer nobody
 * configured is refused outright rather than tried as a static token. Verified JWTs are
 * remembered briefly (token-cache.ts), never past their own exp.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { AppError } from '../lib/errors';
import type { IdentityProvider, Principal } from '../lib/identity/types';
import { looksLikeJwt } from './jwt';
import type { JwtIssuerProvider } from './oidc';
import type { VerifiedTokenCache } from './token-cache';

export class IdentityChain implements IdentityProvider {
  private readonly byIssuer = new Map<string, JwtIssuerProvider>();

  constructor(jwtIssuers: JwtIssuerProvider[], private readonly statics: IdentityProvider[], private readonly cache?: VerifiedTokenCache) {
    // The OIDC provider comes first: when it is also a workload issuer, people win.
    for (const p of jwtIssuers) if (!this.byIssuer.has(p.issuer)) this.byIssuer.set(p.issuer, p);
  }

  async authenticate(token: string): Promise<Principal | null> {
    if (!token) return null;
    if (looksLikeJwt(token)) return this.authenticateJwt(token);
    for (const p of this.statics) {
      const found = await p.authenticate(token);
      if (found) return found;
    }
    return null;
  }

  private async authenticateJwt(token: string): Promise<Principal> {
    const cached = this.cache?.get(token);
    if (cached) return cached;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new AppError('TOKEN_INVALID', 'the bearer token is not a well-formed JWT');
    }
    const provider = typeof claims.iss === 'string' ? this.byIssuer.get(claims.iss) : undefined;
    if (!provider) throw new AppError('TOKEN_ISSUER_UNKNOWN', 'the bearer token was issued by an issuer this service does not trust');
    const principal = await provider.authenticateJwt(token);
    // Verified: exp is present (required) and these claims are the signed ones.
    this.cache?.set(token, principal, { exp: claims.exp as number, nbf: claims.nbf });
    return { ...principal, roles: [...principal.roles], teams: [...principal.teams] };
  }
}
