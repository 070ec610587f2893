/**
 * Clair's PSK authentication (quay/clair middleware/auth/httpauth_psk.go): a bearer JWT
 * signed with HS256 using the base64-decoded `auth.psk.key`, whose `iss` is in Clair's
 * allow-list. Clair validates `exp`/`nbf` with 15 s leeway, so tokens are short-lived and
 * re-minted shortly before they expire.
 *
 * Signed with node:crypto (RFC 7515 compact JWS, HS256) rather than jose: jose 6 is
 * ESM-only, which neither this CommonJS build's jest runtime nor older Node 20 can require.
 */
import { createHmac } from 'node:crypto';

/** Lifetime of a token. Short: it is a bearer secret on every request. */
const TOKEN_TTL_S = 300;
/** Mint a new token when the cached one has less than this left. */
const RENEW_BEFORE_S = 60;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** An HS256 JWT over `claims` (exported for the stand-in's tests of it). */
export function signHs256(claims: Record<string, unknown>, key: Buffer): string {
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

export class PskSigner {
  private readonly key: Buffer;
  private cached?: { token: string; exp: number };

  constructor(pskBase64: string, private readonly issuer: string, private readonly now: () => number) {
    this.key = Buffer.from(pskBase64, 'base64');
  }

  /** An `Authorization` header value: `Bearer <jwt>`. */
  authorization(): string {
    const nowS = Math.floor(this.now() / 1000);
    if (!this.cached || this.cached.exp - nowS < RENEW_BEFORE_S) {
      const exp = nowS + TOKEN_TTL_S;
      this.cached = { token: signHs256({ iss: this.issuer, iat: nowS, nbf: nowS, exp }, this.key), exp };
    }
    return `Bearer ${this.cached.token}`;
  }
}
