/**
 * Verified JWTs, remembered briefly: a signature check (ES256 especially) costs more than the
 * rest of a request, and CI sends the same token many times. An entry is keyed by the SHA-256
 * of the token (the token itself is not kept), lives at most `ttlMs`, and is used only while
 * the token's own `exp` and `nbf` still hold on the service's clock, so caching never extends a
 * token's life. Refusals are not cached. The short lifetime bounds how long a key the issuer
 * withdrew from its JWKS still counts, as kube-apiserver's token cache does (10 s for tokens
 * it could verify).
 */
import { createHash } from 'node:crypto';
import type { Principal } from '../lib/identity/types';
import type { Clock } from './jwt';

interface Entry { principal: Principal; until: number; exp: number; nbf: number }

export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock, private readonly ttlMs = 60_000, private readonly maxEntries = 10_000, private readonly skewSeconds = 30) {}

  private key(token: string): string {
    return createHash('sha256').update(token).digest('base64url');
  }

  get(token: string): Principal | undefined {
    const key = this.key(token);
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.clock().getTime();
    if (now >= e.until || now >= (e.exp + this.skewSeconds) * 1000 || now < (e.nbf - this.skewSeconds) * 1000) {
      this.entries.delete(key);
      return undefined;
    }
    return { ...e.principal, roles: [...e.principal.roles], teams: [...e.principal.teams] };
  }

  set(token: string, principal: Principal, claims: { exp: number; nbf?: number }): void {
    if (this.entries.size >= this.maxEntries) {
      // Oldest first (insertion order): a burst of distinct tokens cannot grow memory without bound.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.key(token), { principal, until: this.clock().getTime() + this.ttlMs, exp: claims.exp, nbf: claims.nbf ?? 0 });
  }
}
