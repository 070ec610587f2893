/**
 * The console's OIDC sign-in (issue 14.1) against a real OpenID Provider (npm oidc-provider on
 * loopback) and the console's real Redis session store: the authorization-code flow with PKCE,
 * state and nonce; a callback that did not start in this browser, a replayed one, a wrong PKCE
 * verifier and a wrong nonce are refused; the tokens stay in the session; a due refresh re-reads
 * the groups (a removed group loses access, no group left ends the session), a failed refresh ends
 * it, concurrent requests share one refresh; sign-out ends the session and names end_session.
 */
import Redis from 'ioredis';
import { oidcConfigSchema } from '../../../src/identity/config';
import { createLogger } from '../../../src/lib/logger';
import { OidcLogin, type PendingLogin } from '../../../src/identity/oidc-login';
import { admitPrincipal, RedisPrincipalActivity } from '../../../src/identity/activity';
import { OidcSessions, refreshingSessions } from '../../../src/identity/oidc-sessions';
import { RedisSessionStore } from '../../../src/ui/sessions';
import { startOidcProvider, type OidcProvider } from '../../harness/oidc';
import { services, uniqueName } from '../../harness/services';
import { codeOf } from '../../harness/codes';

const CLIENT = { id: 'console', secret: 'console-secret', redirectUri: 'http://127.0.0.1:9/ui/callback', postLogoutRedirectUris: ['http://127.0.0.1:9/ui/login?ended=signout'] };
const logger = createLogger({ level: 'silent' });

let op: OidcProvider;
let redis: Redis;
let prefix: string;
let now = Date.now();
let login: OidcLogin;
let store: RedisSessionStore;
let sessions: OidcSessions;

beforeAll(async () => {
  op = await startOidcProvider({
    clients: [CLIENT],
    users: { alice: { groups: ['payments-devs', 'payments-approvers'], username: 'alice.a' }, bob: { groups: ['marketing'] } },
  });
  redis = new Redis(services().redis.url);
  const config = oidcConfigSchema.parse({
    issuer: op.issuer, clientId: CLIENT.id, redirectUri: CLIENT.redirectUri, sessionRefreshSeconds: 60,
    scopes: ['openid', 'profile', 'groups', 'offline_access'],
    groups: { 'payments-devs': { roles: ['developer'], teams: ['payments'] }, 'payments-approvers': { roles: ['approver'], teams: ['payments'] } },
  });
  login = new OidcLogin({ ...config, redirectUri: CLIENT.redirectUri }, { clientSecret: CLIENT.secret, now: () => now });
});

beforeEach(async () => {
  now = Date.now();
  prefix = uniqueName('oidc-signin');
  store = new RedisSessionStore(redis, prefix, { idleMs: 3_600_000, lifetimeMs: 86_400_000 }, () => now);
  sessions = new OidcSessions({ login, sessions: store, redis, prefix, logger, now: () => now });
  await op.setGroups('alice', ['payments-devs', 'payments-approvers']);
});

afterEach(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
});

afterAll(async () => {
  redis?.disconnect();
  await op?.stop();
});

/** Signs alice in: the redirect, the provider's login and consent, the callback. */
async function signIn(user = 'alice'): Promise<{ sessionId: string; returnTo: string }> {
  const { url, state } = await sessions.begin('/ui/queue');
  const callback = await op.authorize(url, user, CLIENT);
  return sessions.complete(callback, state);
}

describe('console sign-in with OIDC', () => {

  it('leaves a session made from a bearer JWT typed at /ui/login to the console\'s re-check (capped at its exp there)', async () => {
    const jwtSession = { subject: `oidc:${op.issuer}#alice`, source: 'oidc' as const, name: 'alice.a', roles: ['developer' as const], teams: ['payments'], credential: { kind: 'jwt' as const, exp: Math.floor(now / 1000) + 600 } };
    const { id } = await store.create(jwtSession);
    expect(await sessions.current(id)).toMatchObject(jwtSession);
    expect(await refreshingSessions(store, sessions).get(id)).toMatchObject(jwtSession);
  });
  it('sends the browser to the provider with PKCE (S256), state and nonce, and keeps the tokens in the session', async () => {
    const { url, state } = await sessions.begin('/ui/queue');
    const params = new URL(url).searchParams;
    expect(url.startsWith(`${op.issuer}/`)).toBe(true);
    expect(Object.fromEntries(['client_id', 'redirect_uri', 'response_type', 'code_challenge_method'].map((k) => [k, params.get(k)])))
      .toEqual({ client_id: CLIENT.id, redirect_uri: CLIENT.redirectUri, response_type: 'code', code_challenge_method: 'S256' });
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toBe(state);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The verifier never leaves the server.
    const pending = JSON.parse((await redis.get((await redis.keys(`${prefix}:ui:oidc-pending:*`))[0]))!) as PendingLogin;
    expect(url).not.toContain(pending.codeVerifier);

    const callback = await op.authorize(url, 'alice', CLIENT);
    const { sessionId, returnTo, principal } = await sessions.complete(callback, state);
    expect(returnTo).toBe('/ui/queue');
    expect(principal).toMatchObject({ name: 'alice.a', subject: `oidc:${op.issuer}#alice`, source: 'oidc', teams: ['payments'] });
    const s = await store.get(sessionId);
    expect(s).toMatchObject({ source: 'oidc', name: 'alice.a', roles: ['developer', 'approver'], groups: ['payments-devs', 'payments-approvers'] });
    expect(s?.oidc).toEqual({ idToken: expect.stringMatching(/^ey/), refreshToken: expect.any(String), refreshAt: expect.any(Number) });
    // Refresh no later than sessionRefreshSeconds.
    expect((s!.oidc!.refreshAt as number) - now).toBeLessThanOrEqual(60_000);
  });

  it('refuses a callback from another browser, a replayed callback, and a user whose groups map to nothing', async () => {
    const { url, state } = await sessions.begin('/ui');
    const callback = await op.authorize(url, 'alice', CLIENT);
    expect(await codeOf(sessions.complete(callback, undefined))).toBe('OIDC_SIGNIN_FAILED');
    expect(await codeOf(sessions.complete(callback, `${state.slice(1)}x`))).toBe('OIDC_SIGNIN_FAILED');
    expect(await codeOf(sessions.complete(callback, state))).toBe('ok');
    expect(await codeOf(sessions.complete(callback, state))).toBe('OIDC_SIGNIN_FAILED');
    expect(await codeOf(signIn('bob'))).toBe('IDENTITY_UNMAPPED');
  });

  it('refuses a code exchanged with another PKCE verifier or answered with another nonce', async () => {
    const a = await login.start('/ui');
    const b = await login.start('/ui');
    const wrongVerifier = await op.authorize(a.url, 'alice', CLIENT);
    expect(await codeOf(login.finish(wrongVerifier, { ...a.pending, codeVerifier: b.pending.codeVerifier }))).toBe('OIDC_SIGNIN_FAILED');
    const c = await login.start('/ui');
    const wrongNonce = await op.authorize(c.url, 'alice', CLIENT);
    expect(await codeOf(login.finish(wrongNonce, { ...c.pending, nonce: b.pending.nonce }))).toBe('OIDC_SIGNIN_FAILED');
    const d = await login.start('/ui');
    expect(await codeOf(login.finish(await op.authorize(d.url, 'alice', CLIENT), d.pending))).toBe('ok');
  });

  it('re-reads the groups at the due refresh: a removed group loses its access, none left ends the session', async () => {
    const { sessionId } = await signIn();
    const console = refreshingSessions(store, sessions);
    const first = (await console.get(sessionId))!;
    await op.setGroups('alice', ['payments-devs']);
    // Not due yet: the session is as signed in.
    expect((await console.get(sessionId))?.roles).toEqual(['developer', 'approver']);
    now = (first.oidc!.refreshAt as number) + 1;
    const reduced = await console.get(sessionId);
    expect(reduced).toMatchObject({ roles: ['developer'], groups: ['payments-devs'], csrf: first.csrf });
    expect(reduced!.oidc!.refreshAt).toBeGreaterThan(now);
    expect((await store.get(sessionId))?.roles).toEqual(['developer']);

    await op.setGroups('alice', ['marketing']);
    now = (reduced!.oidc!.refreshAt as number) + 1;
    expect(await console.get(sessionId)).toBeNull();
    expect(await store.get(sessionId)).toBeNull();
  });

  it('ends the session when the refresh is refused', async () => {
    const { sessionId } = await signIn();
    const { csrf: _csrf, createdAt: _c, lastSeenAt: _l, ...s } = (await store.get(sessionId))!;
    await store.update(sessionId, { ...s, oidc: { ...s.oidc, refreshToken: 'not-a-refresh-token' } });
    now = (s.oidc!.refreshAt as number) + 1;
    expect(await sessions.current(sessionId)).toBeNull();
    expect(await store.get(sessionId)).toBeNull();
  });

  it('refreshes once for many concurrent requests, and every one of them gets the refreshed session', async () => {
    const { sessionId } = await signIn();
    const s = (await store.get(sessionId))!;
    await op.setGroups('alice', ['payments-approvers']);
    now = (s.oidc!.refreshAt as number) + 1;
    const all = await Promise.all(Array.from({ length: 8 }, () => sessions.current(sessionId)));
    expect(all.map((x) => x?.roles)).toEqual(Array(8).fill(['approver']));
    // One refresh: every request saw the same new refresh time.
    expect(new Set(all.map((x) => x!.oidc!.refreshAt)).size).toBe(1);
  });

  it('applies role hygiene: a disabled subject cannot sign in, and a live session of one ends at its next refresh', async () => {
    const activity = new RedisPrincipalActivity(redis, prefix);
    sessions = new OidcSessions({ login, sessions: store, redis, prefix, logger, now: () => now, admit: (p) => admitPrincipal(activity, p, () => new Date(now)) });
    const { sessionId } = await signIn();
    const subject = `oidc:${op.issuer}#alice`;
    // The sign-in counts as a use for role hygiene.
    expect((await activity.all()).map((r) => r.subject)).toEqual([subject]);
    await activity.disable(subject, new Date(now).toISOString(), JSON.stringify({ action: 'principal.disabled_inactive' }));
    expect(await codeOf(signIn())).toBe('PRINCIPAL_DISABLED');
    now = ((await store.get(sessionId))!.oidc!.refreshAt as number) + 1;
    expect(await sessions.current(sessionId)).toBeNull();
  });

  it('signs out: the session ends and the provider\'s end_session URL carries the ID token hint', async () => {
    const { sessionId } = await signIn();
    const idToken = (await store.get(sessionId))!.oidc!.idToken as string;
    const url = await sessions.signOut(sessionId, CLIENT.postLogoutRedirectUris[0]);
    expect(await store.get(sessionId)).toBeNull();
    const end = new URL(url!);
    expect(end.origin).toBe(op.issuer);
    expect(end.searchParams.get('id_token_hint')).toBe(idToken);
    expect(end.searchParams.get('post_logout_redirect_uri')).toBe(CLIENT.postLogoutRedirectUris[0]);
    expect(await sessions.signOut(sessionId, CLIENT.postLogoutRedirectUris[0])).toBeNull();
  });
});
