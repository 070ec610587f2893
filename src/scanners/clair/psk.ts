/**
 * Clair's PSK authentication (quay/clair middleware/auth/httpauth_psk.go): a bearer JWT
 * signed with HS256 using the base64-decoded `auth.psk.key`, whose `iss` is in Clair's
 * allow-list. Clair validates `exp`/`nbf` with 15 s leeway, so tokens are short-lived and
 * re-minted shortly before they expire.
 *
 * Signed with node:crypto (RFC 7515 compact JWS, HS256) rather than jose: jose 6 is
 * ESM-only, which neither this CommonJS build's jest runtime nor older Node 20 can require.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

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

/** Why a token was refused (the hook answers each with its own code). */
export type PskRefusal = 'malformed' | 'algorithm' | 'signature' | 'issuer' | 'expired' | 'not_yet_valid';

/**
 * Checks an HS256 JWT signed with a PSK, as Clair signs its notifier's webhooks when
 * `notifier.webhook.signed` is on (quay/clair internal/httputil/signer.go: the `auth.psk.key`,
 * claims `iss: clair-notifier`, `iat`, `nbf` = now - 1 min, `exp` = now + 1 min). Only HS256 is
 * accepted (an `alg: none` or RS256 token is refused before any key is used); `exp` and `nbf`
 * get `leewayS` of clock skew. Returns null when the token is good.
 */
export function verifyHs256(token: string, pskBase64: string, opts: { issuers: readonly string[]; nowMs: number; leewayS: number }): PskRefusal | null {
  const m = /^([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(token);
  if (!m) return 'malformed';
  let header: { alg?: unknown; typ?: unknown };
  let claims: { iss?: unknown; exp?: unknown; nbf?: unknown };
  try {
    header = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as typeof header;
    claims = JSON.parse(Buffer.from(m[2]!, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return 'malformed';
  }
  if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) return 'malformed';
  if (header.alg !== 'HS256') return 'algorithm';
  const want = createHmac('sha256', Buffer.from(pskBase64, 'base64')).update(`${m[1]}.${m[2]}`).digest();
  const got = Buffer.from(m[3]!, 'base64url');
  if (got.length !== want.length || !timingSafeEqual(got, want)) return 'signature';
  if (typeof claims.iss !== 'string' || !opts.issuers.includes(claims.iss)) return 'issuer';
  const nowS = opts.nowMs / 1000;
  // Clair always sets exp; a token without one would be valid forever.
  if (typeof claims.exp !== 'number' || nowS > claims.exp + opts.leewayS) return 'expired';
  if (typeof claims.nbf === 'number' && nowS < claims.nbf - opts.leewayS) return 'not_yet_valid';
  return null;
}
