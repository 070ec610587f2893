/**
 * Verifying bearer JWTs with jose against an issuer's JWKS: discovery once (cached; a failure is
 * retried at the next token), the key set cached for `jwksCacheSeconds` and fetched again when a
 * token names an unknown `kid` (at most every 30 s, jose's cooldown, so a stream of forged kids
 * cannot make us hammer the provider). Checks `iss`, `aud`, `exp` (required), `nbf` and the
 * algorithm allow-list; every refusal is an AppError with a code that says which check failed.
 */
import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { AppError } from '../lib/errors';

/** The time source, replaceable in tests. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** Three base64url segments whose first decodes to a JSON header with `alg`: a JWS compact JWT. */
export function looksLikeJwt(token: string): boolean {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token)) return false;
  try {
    return typeof decodeProtectedHeader(token).alg === 'string';
  } catch {
    return false;
  }
}

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.string().url() });

export interface IssuerKeysOptions {
  /** The issuer's JWKS; when unset, discovery names it. */
  jwksUrl?: string;
  cacheSeconds: number;
  /** Least time between two JWKS fetches for unknown kids. @defaultValue 30000 (jose's) */
  cooldownMs?: number;
}

/** The signing keys of one issuer. */
export class IssuerKeys {
  private keySet?: Promise<JWTVerifyGetKey>;

  constructor(readonly issuer: string, private readonly options: IssuerKeysOptions) {}

  /** Resolves the key set once; a failed discovery is forgotten so the next token tries again. */
  keys(): Promise<JWTVerifyGetKey> {
    this.keySet ??= this.resolve().catch((err: unknown) => {
      this.keySet = undefined;
      throw err;
    });
    return this.keySet;
  }

  private async resolve(): Promise<JWTVerifyGetKey> {
    const jwksUrl = this.options.jwksUrl ?? (await this.discover());
    return createRemoteJWKSet(new URL(jwksUrl), {
      cacheMaxAge: this.options.cacheSeconds * 1000, cooldownDuration: this.options.cooldownMs ?? 30_000, timeoutDuration: 5000,
    });
  }

  private async discover(): Promise<string> {
    const url = `${this.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    let body: unknown;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
      if (!res.ok) throw new Error(`answered ${res.status}`);
      body = await res.json();
    } catch (err) {
      throw new AppError('ISSUER_UNAVAILABLE', `the identity provider ${this.issuer} could not be reached`, { cause: err, temporary: true });
    }
    const parsed = discoverySchema.safeParse(body);
    // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be exactly the one asked for.
    if (!parsed.success || parsed.data.issuer !== this.issuer) {
      throw new AppError('ISSUER_UNAVAILABLE', `the discovery document of ${this.issuer} is not valid for that issuer`, { temporary: true });
    }
    return parsed.data.jwks_uri;
  }
}

export interface VerifyOptions {
  audiences: string[];
  algorithms: readonly string[];
  clockSkewSeconds: number;
  clock: Clock;
}

/** Verifies signature and claims; the payload of a valid token, or an AppError naming the failed check. */
export async function verifyJwt(token: string, keys: IssuerKeys, options: VerifyOptions): Promise<JWTPayload> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw new AppError('TOKEN_INVALID', 'the bearer token is not a well-formed JWT');
  }
  // Checked before any key is looked at: `none`, and HS256 "signed" with the provider's public key.
  if (typeof alg !== 'string' || !options.algorithms.includes(alg)) {
    throw new AppError('TOKEN_ALGORITHM_REFUSED', `the token's algorithm ${JSON.stringify(alg)} is not one of ${options.algorithms.join(', ')}`);
  }
  const getKey = await keys.keys();
  try {
    const { payload } = await jwtVerify(token, getKey, {
      issuer: keys.issuer,
      audience: options.audiences,
      algorithms: [...options.algorithms],
      clockTolerance: options.clockSkewSeconds,
      currentDate: options.clock(),
      requiredClaims: ['exp', 'sub'],
    });
    return payload;
  } catch (err) {
    throw refusal(err, keys.issuer);
  }
}

function refusal(err: unknown, issuer: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof errors.JWTExpired) return new AppError('TOKEN_EXPIRED', 'the bearer token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return new AppError('TOKEN_NOT_YET_VALID', 'the bearer token is not valid yet (nbf)');
    if (err.claim === 'aud') return new AppError('TOKEN_AUDIENCE_MISMATCH', 'the bearer token was not issued for this service (aud)');
    if (err.claim === 'iss') return new AppError('TOKEN_ISSUER_UNKNOWN', 'the bearer token was issued by an unknown issuer');
    return new AppError('TOKEN_INVALID', `the bearer token's claim '${err.claim}' is ${err.reason === 'missing' ? 'missing' : 'not valid'}`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return new AppError('TOKEN_ALGORITHM_REFUSED', 'the bearer token\'s algorithm is not allowed');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) return new AppError('TOKEN_KEY_UNKNOWN', `the bearer token was signed with a key ${issuer} does not publish (kid)`);
  if (err instanceof errors.JWSSignatureVerificationFailed) return new AppError('TOKEN_SIGNATURE_INVALID', 'the bearer token\'s signature is not valid');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return new AppError('TOKEN_INVALID', 'the bearer token is not a well-formed JWT');
  // JWKS timeouts, network errors, a JWKS that is not a key set: the provider, not the token.
  return new AppError('ISSUER_UNAVAILABLE', `the signing keys of ${issuer} could not be fetched`, { cause: err, temporary: true });
}
