/**
 * The console's OIDC sign-in routes (issue 14.1), mounted when `auth.oidc.redirectUri` is set:
 * - `GET /ui/login/oidc?next=/ui/…`: to the provider (code flow, PKCE, state, nonce); the state is
 *   also a cookie (`SameSite=Lax`: it must come back on the provider's cross-site redirect).
 * - `GET /ui/callback`: the provider's answer; starts the console session (cookie
 *   `portcullis_session`, the console's, `SameSite=Strict`) and lands on `next` through a plain
 *   page, not a redirect: a Strict cookie is not sent on a redirect chain that began at another site.
 * - `GET /ui/login/oidc/session`: the signed-in person as the server sees it after any due refresh
 *   (JSON), or 401: the minimal signed-in check until the console's pages use the session.
 * - `POST /ui/logout/oidc` (the session's CSRF token as `csrf` or `X-CSRF-Token`): ends the session,
 *   then the provider's end_session endpoint when it has one.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { OidcSessions } from '../../identity';
import { signInEcs } from '../../lib/ecs';
import { AppError, toAppError } from '../../lib/errors';

/** The console's session cookie (src/ui/auth.ts). */
export const SESSION_COOKIE = 'portcullis_session';
const STATE_COOKIE = 'portcullis_oidc_state';
const PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface OidcSignInDeps {
  oidc: OidcSessions;
  /** `auth.oidc.redirectUri`: the callback URL as registered (never built from the Host header). */
  redirectUri: string;
  /** Mark cookies `Secure` (the console is served over TLS). */
  secureCookies: boolean;
}

function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && !(part.slice(0, i).trim() in out)) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function cookie(res: Response, name: string, value: string, attrs: string[], secure: boolean): void {
  res.append('Set-Cookie', [`${name}=${value}`, ...attrs, 'HttpOnly', ...(secure ? ['Secure'] : [])].join('; '));
}

/** Only a console path may follow sign-in: never another site, never `//host`, no `..` (nor `%2e%2e`, which URL parsers read as `..`), never a sign-in loop. */
export function safeNext(v: unknown): string {
  if (typeof v !== 'string' || !/^\/ui(\/[A-Za-z0-9/_.\-?=&%]*)?$/.test(v) || v.includes('//') || v.split(/[/?]/).includes('..') || /%2e/i.test(v)) return '/ui';
  return v.startsWith('/ui/callback') || v === '/ui/login' || v.startsWith('/ui/login?') || v.startsWith('/ui/login/oidc?') || v === '/ui/login/oidc' ? '/ui' : v;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: Response, status: number, title: string, body: string, refreshTo?: string): void {
  res.status(status).setHeader('Content-Security-Policy', PAGE_CSP).setHeader('Cache-Control', 'no-store').type('html').send(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Portcullis</title>${refreshTo ? `<meta http-equiv="refresh" content="0;url=${escape(refreshTo)}">` : ''}</head>
<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

export function oidcSignInRouter(deps: OidcSignInDeps): Router {
  const router = express.Router();
  const secure = deps.secureCookies;

  router.get('/ui/login/oidc', async (req, res) => {
    const { url, state } = await deps.oidc.begin(safeNext(req.query.next));
    cookie(res, STATE_COOKIE, state, ['Path=/ui/callback', 'SameSite=Lax', 'Max-Age=600'], secure);
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, url);
  });

  router.get('/ui/callback', async (req, res) => {
    cookie(res, STATE_COOKIE, '', ['Path=/ui/callback', 'SameSite=Lax', 'Max-Age=0'], secure);
    const again = '<p><a href="/ui/login/oidc">Sign in again</a></p>';
    const error = typeof req.query.error === 'string' ? req.query.error : undefined;
    if (error) return page(res, 401, 'Sign-in refused', `<p>The identity provider answered: ${escape(error.slice(0, 100))}.</p>${again}`);
    // The URL the provider redirected to, rebuilt from the registered callback, not the Host header.
    const callback = new URL(deps.redirectUri);
    callback.search = new URL(req.originalUrl, 'http://callback.invalid').search;
    try {
      const { sessionId, returnTo, principal } = await deps.oidc.complete(callback, cookies(req)[STATE_COOKIE]);
      cookie(res, SESSION_COOKIE, sessionId, ['Path=/ui', 'SameSite=Strict'], secure);
      req.log?.info({ ...signInEcs('success'), 'user.name': principal.name, 'user.id': principal.subject }, 'console sign-in through OIDC');
      page(res, 200, 'Signed in', `<p>Signed in as ${escape(principal.name)}. <a href="${escape(returnTo)}">Continue</a></p>`, returnTo);
    } catch (err) {
      const e = toAppError(err);
      if (e.status >= 500) throw e;
      req.log?.info({ ...signInEcs('failure'), 'error.code': e.code }, 'console OIDC sign-in refused');
      res.locals.signInLogged = true; // the one failed-sign-in line of this request (request-context.ts)
      page(res, e.status, 'Sign-in refused', `<p>${escape(e.code)}: ${escape(e.message)}</p>${again}`);
    }
  });

  router.get('/ui/login/oidc/session', async (req, res) => {
    const id = cookies(req)[SESSION_COOKIE];
    const s = id ? await deps.oidc.current(id) : null;
    if (!s) throw new AppError('UNAUTHENTICATED', 'not signed in (or the session ended)');
    res.setHeader('Cache-Control', 'no-store');
    // The CSRF token is for this origin's own pages and scripts (the same-origin policy keeps others from reading it).
    res.json({ name: s.name, subject: s.subject, source: s.source, roles: s.roles, teams: s.teams, groups: s.groups ?? [], csrf: s.csrf });
  });

  router.post('/ui/logout/oidc', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const id = cookies(req)[SESSION_COOKIE];
    const s = id ? await deps.oidc.current(id) : null;
    const sent: unknown = (req.body as Record<string, unknown> | undefined)?.csrf ?? req.get('x-csrf-token');
    const csrfOk = typeof sent === 'string' && !!s && sent.length === s.csrf.length && timingSafeEqual(Buffer.from(sent), Buffer.from(s.csrf));
    if (s && !csrfOk) throw new AppError('FORBIDDEN', 'missing or wrong CSRF token');
    const signedOut = new URL('/ui/login?ended=signout', deps.redirectUri).href;
    const endSession = id && s ? await deps.oidc.signOut(id, signedOut) : null;
    cookie(res, SESSION_COOKIE, '', ['Path=/ui', 'SameSite=Strict', 'Max-Age=0'], secure);
    res.redirect(303, endSession ?? '/ui/login?ended=signout');
  });

  return router;
}
