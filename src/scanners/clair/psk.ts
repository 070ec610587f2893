/**
 * Clair's PSK authentication (quay/clair middleware/auth/httpauth_psk.go): a bearer JWT
 * signed with HS256 using the base64-decoded `auth.psk.key`, whose `iss` is in Clair's
 * allow-list. Clair validates `exp`/`nbf` with 15 s leeway, so tokens are short-lived and
 * re-minted shortly before they expire.
 */
import { SignJWT } from 'jose';

/** Lifetime of a token. Short: it is a bearer secret on every request. */
const TOKEN_TTL_S = 300;
/** Mint a new token when the cached one has less than this left. */
const RENEW_BEFORE_S = 60;

export class PskSigner {
  private readonly key: Uint8Array;
  private cached?: { token: string; exp: number };

  constructor(pskBase64: string, private readonly issuer: string, private readonly now: () => number) {
    this.key = new Uint8Array(Buffer.from(pskBase64, 'base64'));
  }

  /** An `Authorization` header value: `Bearer <jwt>`. */
  async authorization(): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    if (!this.cached || this.cached.exp - nowS < RENEW_BEFORE_S) {
      const exp = nowS + TOKEN_TTL_S;
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(this.issuer)
        .setIssuedAt(nowS)
        .setNotBefore(nowS)
        .setExpirationTime(exp)
        .sign(this.key);
      this.cached = { token, exp };
    }
    return `Bearer ${this.cached.token}`;
  }
}
