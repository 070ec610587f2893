/**
 * Sign-in with an API token typed once, the session cookie, and the CSRF check.
 * - The token goes to the same identity providers as a bearer token on /v1 and is then
 *   forgotten: the session holds the principal's fields and what finds the principal again
 *   without the token (the SHA-256 its provider stores, or a JWT's exp; src/identity/session-check.ts).
 * - Every request re-checks a token session against the current identities, as the API checks a
 *   bearer token: an entry removed, given other roles, teams or token, a robot or subject disabled,
 *   an expired JWT or robot ends the session (sign in again). Sessions of the OIDC sign-in are
 *   refreshed by src/identity/oidc-sessions.ts instead.
 * - A failed sign-in counts against the API's failed-authentication limit per address (shared
 *   in Redis across replicas); over it, sign-in answers 429 whatever the token.
 * - The login form carries a one-time token also set as a cookie (no session exists yet);
 *   every later form and mutating fetch carries the session's CSRF token.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response, Router } from 'express';
import { sessionCheckOf } from '../identity';
import { signInEcs } from '../lib/ecs';
import { AppError, toAppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { ConsoleDeps } from './deps';
import { html } from './html';
import { errorBox, notice, page, type PageContext } from './layout';
import { shownError } from './messages';
import { signInAttempt } from './rate-limit';
import { readCookies, setCookie } from './security';
import { csrfMatches, principalOfSession, sessionDataOf, type SessionData, type UiSession } from './sessions';

export const SESSION_COOKIE = 'portcullis_session';
const LOGIN_COOKIE = 'portcullis_login';

export interface UiLocals {
  session: UiSession;
  sessionId: string;
  principal: Principal;
  ctx: PageContext;
}

export function uiOf(res: Response): UiLocals {
  const ui = res.locals.ui as UiLocals | undefined;
  if (!ui) throw new AppError('UNAUTHENTICATED', 'sign in first');
  return ui;
}

const secure = (deps: ConsoleDeps, req: Request): boolean => deps.secureCookies || req.secure;
const addressOf = (req: Request): string => req.socket.remoteAddress ?? 'unknown';

/** The notice of the sign-in page after a session ended (`?ended=`). */
const ENDED: Record<string, string> = {
  idle: 'Your session ended. Sign in again.',
  signout: 'You signed out.',
  access: 'Your session ended: your access changed, or the token you signed in with is no longer valid. Sign in again.',
};
const endedNotice = (v: unknown): string | undefined => (typeof v === 'string' && Object.hasOwn(ENDED, v) ? ENDED[v] : undefined);

/** Only a console path may follow sign-in (never another site, never `//host`). */
function safeNext(v: unknown): string {
  return typeof v === 'string' && /^\/ui\/[A-Za-z0-9/_.\-?=&%]*$/.test(v) && !v.startsWith('/ui/login') ? v : '/ui/overview';
}

function loginPage(req: Request, res: Response, deps: ConsoleDeps, status: number, err?: AppError): void {
  const token = randomBytes(24).toString('base64url');
  setCookie(res, LOGIN_COOKIE, token, { secure: secure(deps, req), maxAge: 600 });
  const ended = endedNotice(req.query.ended);
  const next = safeNext(req.query.next ?? req.body?.next);
  res.status(status).type('html').send(page(null, 'Sign in', html`
${notice(ended)}${errorBox(err ? shownError(err) : undefined)}
<form method="post" action="/ui/login" class="card narrow">
  <input type="hidden" name="csrf" value="${token}">
  <input type="hidden" name="next" value="${next}">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="off" required maxlength="4096" spellcheck="false">
  <p class="hint">The token is never stored: the console keeps a session, not your token, and checks it again at every page.</p>
  <button type="submit">Sign in</button>
</form>`, req.id).value);
}

/**
 * Starts a session for `data` and sets its cookie: the one way a sign-in (token here, OIDC in
 * src/identity's console routes) turns into a session. The caller redirects afterwards.
 */
export async function startSession(deps: Pick<ConsoleDeps, 'sessions' | 'secureCookies'>, req: Request, res: Response, data: SessionData): Promise<void> {
  const { id } = await deps.sessions.create(data);
  const isSecure = deps.secureCookies || req.secure;
  setCookie(res, SESSION_COOKIE, id, { secure: isSecure });
  setCookie(res, LOGIN_COOKIE, '', { secure: isSecure, maxAge: 0 });
}

export function loginRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/login', async (req, res) => {
    const id = readCookies(req)[SESSION_COOKIE];
    if (id && (await deps.sessions.get(id))) return res.redirect(303, safeNext(req.query.next));
    loginPage(req, res, deps, 200);
  });

  router.post('/ui/login', async (req, res) => {
    const sent = typeof req.body?.csrf === 'string' ? req.body.csrf : '';
    const expected = readCookies(req)[LOGIN_COOKIE] ?? '';
    if (!sent || sent.length !== expected.length || !timingSafeEqual(Buffer.from(sent), Buffer.from(expected))) {
      return loginPage(req, res, deps, 403, new AppError('CSRF_INVALID', 'the sign-in form expired; it is shown again'));
    }
    const limited = await signInAttempt(deps.limits, req, res);
    if (limited) return loginPage(req, res, deps, 429, limited);
    const { counter, perMinute } = deps.failedAuth;
    if (perMinute > 0) {
      const { count, retryAfter } = await counter.peek(addressOf(req));
      if (count >= perMinute) {
        res.setHeader('Retry-After', String(retryAfter));
        return loginPage(req, res, deps, 429, new AppError('RATE_LIMITED', `more than ${perMinute} failed authentications per minute from this address`));
      }
    }
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    let principal: Principal | null = null;
    let refusal: AppError | null = null;
    try {
      principal = token && token.length <= 4096 ? await deps.identity.authenticate(token) : null;
    } catch (err) {
      refusal = toAppError(err);
      if (refusal.status >= 500) throw refusal;
    }
    if (!principal) {
      const err = refusal ?? new AppError('UNAUTHENTICATED', 'the token is not valid');
      if (err.status === 401 && perMinute > 0) await counter.hit(addressOf(req));
      req.log?.info({ ...signInEcs('failure'), 'error.code': err.code }, 'console sign-in refused');
      res.locals.signInLogged = true; // the one failed-sign-in line of this request (request-context.ts)
      return loginPage(req, res, deps, err.status, err);
    }
    // Only a session whose principal can be found again at each request (src/identity/session-check.ts).
    const credential = sessionCheckOf(deps.identity)?.credentialOf(token, principal);
    if (!credential) {
      req.log?.info({ ...signInEcs('failure'), 'error.code': 'FORBIDDEN' }, 'console sign-in refused: the session could not be checked again');
      res.locals.signInLogged = true;
      return loginPage(req, res, deps, 403, new AppError('FORBIDDEN', 'this kind of token cannot sign in to the console'));
    }
    await startSession(deps, req, res, sessionDataOf(principal, credential));
    req.log?.info({ ...signInEcs('success'), 'user.name': principal.name }, 'console sign-in');
    res.redirect(303, safeNext(req.body?.next));
  });
}

/** A page asks to sign in (with `ended` said on the sign-in page); anything else answers 401. */
function signInAgain(req: Request, res: Response, next: NextFunction, ended?: 'idle' | 'access'): void {
  if (req.method === 'GET' && !req.path.includes('.')) {
    const target = `/ui/login?${new URLSearchParams({ next: req.originalUrl, ...(ended ? { ended } : {}) }).toString()}`;
    if (req.get('hx-request')) { res.setHeader('HX-Redirect', target); res.status(204).end(); return; }
    res.redirect(303, target);
    return;
  }
  next(new AppError('UNAUTHENTICATED', 'sign in first'));
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
};

/**
 * Why a session may no longer be used, or null when it may: a token session's principal is found
 * again (src/identity/session-check.ts) and must have the name, roles and teams it signed in with.
 * A changed principal ends the session rather than taking the new roles: a promotion, too, is used
 * after a deliberate sign-in, and the page the person has open was authorised for the old ones.
 * A 5xx (Redis away) is thrown: the session is kept and the page fails closed.
 */
async function whyEnded(deps: ConsoleDeps, session: UiSession): Promise<string | null> {
  // The OIDC sign-in's sessions hold its tokens and are refreshed by src/identity/oidc-sessions.ts.
  if (session.oidc && !session.credential) return null;
  const check = sessionCheckOf(deps.identity);
  // A session from before sessions were re-checked, or an identity that cannot: fail closed.
  if (!session.credential || !check) return 'NO_CREDENTIAL';
  let current: Principal | null;
  try {
    current = await check.reauthorise({ ...principalOfSession(session), subject: session.subject }, session.credential);
  } catch (err) {
    const refused = toAppError(err);
    if (refused.status >= 500) throw refused;
    return refused.code;
  }
  if (!current) return 'PRINCIPAL_GONE';
  if (current.name !== session.name || !sameSet(current.roles, session.roles) || !sameSet(current.teams, session.teams)) return 'ACCESS_CHANGED';
  return null;
}

/**
 * Loads the session and checks its principal again; none, ended or no longer authorised: a page
 * asks to sign in, anything else answers 401. A session no longer authorised is deleted.
 */
export function requireSession(deps: ConsoleDeps) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const id = readCookies(req)[SESSION_COOKIE];
    const session = id ? await deps.sessions.get(id) : null;
    if (!session || !id) return signInAgain(req, res, next, id ? 'idle' : undefined);
    const ended = await whyEnded(deps, session);
    if (ended) {
      await deps.sessions.destroy(id);
      setCookie(res, SESSION_COOKIE, '', { secure: secure(deps, req), maxAge: 0 });
      req.log?.info({ 'event.category': 'session', 'event.action': 'console-recheck', 'event.outcome': 'failure', 'user.name': session.name, 'error.code': ended }, 'console session ended: its principal is gone, refused or changed');
      return signInAgain(req, res, next, 'access');
    }
    const principal = principalOfSession(session);
    const locals: UiLocals = { session, sessionId: id, principal, ctx: { principal, csrf: session.csrf, requestId: req.id, path: req.path } };
    res.locals.ui = locals;
    next();
  };
}

/** Every request that changes something carries the session's CSRF token (form field or header). */
export function checkCsrf() {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const sent: unknown = req.body?.csrf ?? req.get('x-csrf-token');
    if (!csrfMatches(uiOf(res).session, sent)) return next(new AppError('CSRF_INVALID', 'missing or wrong CSRF token'));
    next();
  };
}

export function logoutRoute(router: Router, deps: ConsoleDeps): void {
  router.post('/ui/logout', async (req, res) => {
    await deps.sessions.destroy(uiOf(res).sessionId);
    setCookie(res, SESSION_COOKIE, '', { secure: secure(deps, req), maxAge: 0 });
    res.redirect(303, '/ui/login?ended=signout');
  });
}
