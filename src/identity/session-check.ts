/**
 * Console sessions made from a token (a tokens-file or robot token, or a bearer JWT typed at
 * /ui/login) are checked again at every request, since the console holds no token to present
 * again. What the session keeps to do so is never a credential:
 * - a tokens-file or robot token: the SHA-256 its provider already stores (the file's
 *   `tokenSha256`; the robot record's hash of the secret part). The current entry is found by it
 *   (tokens file, in memory) or by the subject (robot, one Redis read), so an entry removed, given
 *   other roles or teams or another token, a robot disabled, deleted, expired or past its rotation
 *   overlap, is seen at the next request, as the API sees it;
 * - a JWT: its `exp`. Its claims (groups) cannot change, so the session ends when the JWT does:
 *   the person signs in with a new token, whose groups are mapped again.
 * Subjects disabled by role hygiene are refused as on /v1.
 */
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/identity/tokens-file';
import type { IdentityProvider, Principal } from '../lib/identity/types';
import type { RedisPrincipalActivity } from './activity';
import { looksLikeJwt, type Clock } from './jwt';
import { ROBOT_TOKEN, type RobotService } from './robots';
import type { TokensFileIdentityProvider } from './tokens-file';

/** What a token session keeps to find its principal again (never the token). */
export const sessionCredentialSchema = z.discriminatedUnion('kind', [
  /** The SHA-256 hex the provider stores for the token (tokens file, robot). */
  z.strictObject({ kind: z.literal('sha256'), sha256: z.string().regex(/^[a-f0-9]{64}$/) }),
  /** A JWT's expiry, epoch seconds. */
  z.strictObject({ kind: z.literal('jwt'), exp: z.number().int() }),
]);
export type SessionCredential = z.infer<typeof sessionCredentialSchema>;


export interface SessionCheckSources {
  tokensFile?: TokensFileIdentityProvider;
  robots?: Pick<RobotService, 'principalOf'>;
  activity?: Pick<RedisPrincipalActivity, 'isDisabled'>;
  clock: Clock;
}

/**
 * The identity provider the console signs in with: the API's provider, plus what the console
 * needs to check a session again ({@link ReauthorisingIdentity.credentialOf} at sign-in,
 * {@link ReauthorisingIdentity.reauthorise} at every request).
 */
export class ReauthorisingIdentity implements IdentityProvider {
  constructor(private readonly inner: IdentityProvider, private readonly sources: SessionCheckSources) {}

  authenticate(token: string): Promise<Principal | null> {
    return this.inner.authenticate(token);
  }

  /** What the session of `p`, just authenticated with `token`, keeps; null when its source cannot be checked again. */
  credentialOf(token: string, p: Principal): SessionCredential | null {
    if (looksLikeJwt(token) && (p.source === 'oidc' || p.source === 'workload')) {
      const { exp } = decodeJwt(token); // verified by authenticate; exp is required there
      return typeof exp === 'number' ? { kind: 'jwt', exp: Math.floor(exp) } : null;
    }
    if (p.source === 'robot') {
      const m = ROBOT_TOKEN.exec(token);
      return m ? { kind: 'sha256', sha256: sha256Hex(m[2]) } : null;
    }
    if (p.source === 'tokens-file') return { kind: 'sha256', sha256: sha256Hex(token) };
    return null;
  }

  /**
   * The principal `session` stands for now: the current tokens-file entry or robot, or the
   * session's own for a JWT not yet expired. Null when the credential finds nobody (any more) or
   * someone else; throws an AppError (401) when the principal is refused (disabled, expired).
   */
  async reauthorise(session: Principal & { subject: string }, credential: SessionCredential): Promise<Principal | null> {
    const now = await this.current(session, credential);
    if (!now || now.subject !== session.subject) return null;
    if (now.source !== 'robot' && (await this.sources.activity?.isDisabled(session.subject))) {
      throw new AppError('PRINCIPAL_DISABLED', `${now.name} was disabled (unused for too long); an admin can enable it again`);
    }
    return now;
  }

  private async current(session: Principal & { subject: string }, credential: SessionCredential): Promise<Principal | null> {
    if (credential.kind === 'jwt') {
      if (this.sources.clock().getTime() >= credential.exp * 1000) throw new AppError('TOKEN_EXPIRED', 'the token this session was made from has expired');
      return session;
    }
    if (session.source === 'tokens-file') return this.sources.tokensFile?.byTokenSha256(credential.sha256) ?? null;
    if (session.source === 'robot' && this.sources.robots && session.subject.startsWith('robot:')) {
      return this.sources.robots.principalOf(session.subject.slice('robot:'.length), credential.sha256);
    }
    return null;
  }
}

/** The console's re-check of `identity`, when it was built by createIdentity; none otherwise (the console then refuses token sign-ins). */
export function sessionCheckOf(identity: IdentityProvider): ReauthorisingIdentity | undefined {
  return identity instanceof ReauthorisingIdentity ? identity : undefined;
}
