/**
 * The IdentityProvider the API uses: a JWT goes to the provider of its (unverified) issuer,
 * which then verifies it against that issuer's keys; any other token is tried against the
 * static providers in order (robot accounts, the tokens file). A JWT from an issuer nobody
 * configured is refused outright rather than tried as a static token.
 */
import { AppError } from '../lib/errors';
import type { IdentityProvider, Principal } from '../lib/identity/types';
import { looksLikeJwt, unverifiedIssuer } from './jwt';
import type { JwtIssuerProvider } from './oidc';

export class IdentityChain implements IdentityProvider {
  private readonly byIssuer = new Map<string, JwtIssuerProvider>();

  constructor(jwtIssuers: JwtIssuerProvider[], private readonly statics: IdentityProvider[]) {
    // The OIDC provider comes first: when it is also a workload issuer, people win.
    for (const p of jwtIssuers) if (!this.byIssuer.has(p.issuer)) this.byIssuer.set(p.issuer, p);
  }

  async authenticate(token: string): Promise<Principal | null> {
    if (!token) return null;
    if (looksLikeJwt(token)) {
      const issuer = unverifiedIssuer(token);
      const provider = issuer === undefined ? undefined : this.byIssuer.get(issuer);
      if (!provider) throw new AppError('TOKEN_ISSUER_UNKNOWN', 'the bearer token was issued by an issuer this service does not trust');
      return provider.authenticateJwt(token);
    }
    for (const p of this.statics) {
      const found = await p.authenticate(token);
      if (found) return found;
    }
    return null;
  }
}
