/**
 * Console sessions of people signed in through OIDC (issue 14.1), on the console's web session
 * store (src/ui/sessions.ts; described here by the narrow {@link WebSessionStore} it satisfies, so
 * that identity does not import the console).
 *
 * - Between the redirect to the provider and the callback, the state, nonce and PKCE verifier wait
 *   in Redis for 10 minutes, taken once (a replayed callback finds nothing), under the state,
 *   which the browser also holds in a cookie: a callback that did not start in this browser is
 *   refused (login CSRF).
 * - The tokens stay on the server, in the session's `oidc` field; the browser has only the
 *   session cookie.
 * - {@link OidcSessions.current} refreshes a session whose refresh is due before it is used: new
 *   tokens, groups re-read, roles and teams recomputed; a refusal (revoked grant, disabled user, no
 *   mapped group left) ends the session. One refresh per session at a time (a Redis lock): a
 *   provider that rotates refresh tokens would take a second use of the old one for theft.
 * - Sessions made otherwise (a token, or a person's bearer JWT, typed at /ui/login) pass through:
 *   the console checks them again at every request (src/ui/auth.ts, ./session-check.ts); a
 *   bearer JWT's session ends at the JWT's exp there rather than at once here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type Redis from 'ioredis';
import { z } from 'zod';
import { AppError } from '../lib/errors';
import type { Principal, PrincipalSource, Role } from '../lib/identity/types';
import type { Logger } from '../lib/logger';
import type { OidcLoginClient, OidcSessionTokens, PendingLogin } from './oidc-login';
import type { SessionCredential } from './session-check';

/** A session's data, as the console's store keeps it. */
export interface WebSessionData {
  subject: string;
  source: PrincipalSource;
  name: string;
  roles: Role[];
  teams: string[];
  groups?: string[];
  oidc?: Record<string, unknown>;
  /** A session made from a token (./session-check.ts): re-checked by the console, not refreshed here. */
  credential?: SessionCredential;
}
export interface WebSession extends WebSessionData {
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}
/** The part of the console's SessionStore this module uses. */
export interface WebSessionStore {
  create(data: WebSessionData): Promise<{ id: string; session: WebSession }>;
  get(id: string): Promise<WebSession | null>;
  update(id: string, data: WebSessionData): Promise<boolean>;
  destroy(id: string): Promise<void>;
}

const tokensSchema = z.object({ idToken: z.string().min(1), refreshToken: z.string().min(1).optional(), refreshAt: z.number() });
const pendingSchema = z.object({ state: z.string(), nonce: z.string(), codeVerifier: z.string(), returnTo: z.string() });
const PENDING_SECONDS = 600;
const LOCK_MS = 15_000;
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface OidcSessionsDeps {
  login: OidcLoginClient;
  sessions: WebSessionStore;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /**
   * Checked at sign-in and at every refresh: throws to refuse the principal (a subject disabled
   * by role hygiene: PRINCIPAL_DISABLED), and records the use. @defaultValue admits everyone
   */
  admit?: (p: Principal) => Promise<void>;
  /** @defaultValue Date.now */
  now?: () => number;
}

function sessionData(p: Principal, tokens: OidcSessionTokens): WebSessionData {
  return {
    subject: p.subject!, source: 'oidc', name: p.name, roles: [...p.roles], teams: [...p.teams],
    ...(p.groups ? { groups: [...p.groups] } : {}), oidc: { ...tokens },
  };
}

export class OidcSessions {
  private readonly now: () => number;

  constructor(private readonly d: OidcSessionsDeps) {
    this.now = d.now ?? Date.now;
  }

  private pendingKey(state: string): string {
    return `${this.d.prefix}:ui:oidc-pending:${sha256(state)}`;
  }

  /** The provider URL to send the browser to, and the state to bind to the browser (cookie). */
  async begin(returnTo: string): Promise<{ url: string; state: string }> {
    const { url, pending } = await this.d.login.start(returnTo);
    await this.d.redis.set(this.pendingKey(pending.state), JSON.stringify(pending), 'EX', PENDING_SECONDS);
    return { url, state: pending.state };
  }

  /**
   * Completes a sign-in from the provider's redirect: the state must be the browser's and still
   * pending (once); then the code is exchanged (PKCE, nonce) and a session is created.
   */
  async complete(callbackUrl: URL, browserState: string | undefined): Promise<{ sessionId: string; returnTo: string; principal: Principal }> {
    const state = callbackUrl.searchParams.get('state') ?? '';
    if (!state || !browserState || state.length !== browserState.length || !timingSafeEqual(Buffer.from(state), Buffer.from(browserState))) {
      throw new AppError('OIDC_SIGNIN_FAILED', 'this sign-in did not start in this browser, or took too long: sign in again');
    }
    const raw = await this.d.redis.getdel(this.pendingKey(state));
    const pending = raw ? pendingSchema.safeParse(JSON.parse(raw)) : null;
    if (!pending?.success) throw new AppError('OIDC_SIGNIN_FAILED', 'this sign-in expired or was already used: sign in again');
    const { principal, tokens } = await this.d.login.finish(callbackUrl, pending.data satisfies PendingLogin);
    await this.d.admit?.(principal);
    const { id } = await this.d.sessions.create(sessionData(principal, tokens));
    return { sessionId: id, returnTo: pending.data.returnTo, principal };
  }

  /**
   * The live session of `id`, refreshed first when its refresh is due; null when there is none
   * or the refresh failed (the session is then ended). Sessions of other sources, and those made
   * from a token (a bearer JWT typed at /ui/login), pass through to the console's re-check.
   */
  async current(id: string): Promise<WebSession | null> {
    const session = await this.d.sessions.get(id);
    if (!session || session.source !== 'oidc' || session.credential) return session;
    const tokens = tokensSchema.safeParse(session.oidc);
    if (!tokens.success) return this.end(id, session, 'the session holds no OIDC tokens');
    if (this.now() < tokens.data.refreshAt) return session;
    const lock = `${this.d.prefix}:ui:oidc-refresh:${sha256(id)}`;
    if ((await this.d.redis.set(lock, '1', 'PX', LOCK_MS, 'NX')) !== 'OK') return this.awaitRefresh(id, tokens.data.refreshAt);
    try {
      const { principal, tokens: fresh } = await this.d.login.refresh(tokens.data, session.subject);
      await this.d.admit?.(principal);
      const updated = sessionData(principal, fresh);
      if (!(await this.d.sessions.update(id, updated))) return null;
      this.d.logger.info({ 'event.category': 'session', 'event.action': 'oidc-refresh', 'user.name': principal.name, roles: principal.roles, teams: principal.teams }, 'console session refreshed');
      return { ...session, ...updated };
    } catch (err) {
      return this.end(id, session, err instanceof AppError ? `${err.code}: ${err.message}` : String(err));
    } finally {
      await this.d.redis.del(lock);
    }
  }

  /** Another request holds the refresh: wait for it (the session's refreshAt moves), at most the lock's time. */
  private async awaitRefresh(id: string, dueAt: number): Promise<WebSession | null> {
    for (let waited = 0; waited < LOCK_MS; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const s = await this.d.sessions.get(id);
      if (!s) return null;
      const t = tokensSchema.safeParse(s.oidc);
      if (t.success && t.data.refreshAt !== dueAt) return s;
    }
    return null; // fail closed: no refreshed session to show
  }

  private async end(id: string, session: WebSession, why: string): Promise<null> {
    await this.d.sessions.destroy(id);
    this.d.logger.info({ 'event.category': 'session', 'event.action': 'oidc-refresh', 'event.outcome': 'failure', 'user.name': session.name, reason: why }, 'console session ended: its OIDC refresh failed');
    return null;
  }

  /** Ends the session; the provider's end_session URL when it has one (and the session was OIDC's). */
  async signOut(id: string, postLogoutRedirectUri: string): Promise<string | null> {
    const session = await this.d.sessions.get(id);
    await this.d.sessions.destroy(id);
    const tokens = session?.source === 'oidc' ? tokensSchema.safeParse(session.oidc) : null;
    if (!tokens?.success) return null;
    try {
      return await this.d.login.endSessionUrl(tokens.data.idToken, postLogoutRedirectUri);
    } catch {
      return null; // the provider is unreachable: our session has ended anyway
    }
  }
}

/**
 * The console's session store with OIDC refresh built in: `get` is {@link OidcSessions.current},
 * so every page the console authorises from a session sees the groups of the last refresh.
 */
export function refreshingSessions<S extends WebSessionStore>(store: S, oidc: OidcSessions): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'get') return (id: string) => oidc.current(id);
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
