/**
 * The console's rate limits on the real Redis (issue 15): pages, fragments and form posts count
 * per signed-in principal (two sessions of one principal share the count, another principal has
 * its own), over the limit a 429 page or JSON with Retry-After that echoes nothing sent; sign-in
 * attempts count per client address whatever the token, so even the right token is refused
 * once an address has tried too many, and the page does not show the token back.
 */
import { tokenOf } from '../../harness/app';
import { cookieOf, csrfIn, session, startConsoleFixture, type ConsoleFixture } from './console-fixture';

const PER_PRINCIPAL = 8;
const SIGN_INS = 4;

async function trySignIn(url: string, token: string): Promise<Response> {
  const login = await fetch(`${url}/ui/login`);
  const loginCookie = cookieOf(login, 'portcullis_login')!.split(';')[0];
  return fetch(`${url}/ui/login`, {
    method: 'POST', redirect: 'manual', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: csrfIn(await login.text()), token }),
  });
}

describe('console rate limits', () => {
  let f: ConsoleFixture;
  beforeAll(async () => {
    f = await startConsoleFixture({ config: { ui: { rateLimitPerMinute: PER_PRINCIPAL, signInPerMinute: SIGN_INS } } });
  });
  afterAll(async () => { await f?.app.stop(); });

  it('limits pages, fragments and form posts per principal, across its sessions, with a 429 page and Retry-After', async () => {
    // Each sign-in reads the overview once (session() takes the CSRF token from it): 2 of 8.
    const a = await session(f.app, 'approver');
    const b = await session(f.app, 'approver');
    const statuses: number[] = [];
    for (let i = 0; i < PER_PRINCIPAL - 2; i++) statuses.push((await (i % 2 ? a : b).get('/ui/queue')).status);
    expect(statuses).toEqual(Array(PER_PRINCIPAL - 2).fill(200));

    const page = await a.get('/ui/queue');
    expect(page.status).toBe(429);
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(page.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const text = await page.text();
    expect(text).toContain('RATE_LIMITED');
    expect(text).toContain(`more than ${PER_PRINCIPAL} console requests per minute`);
    // (The page carries its own session's CSRF token in the sign-out form, as every page does.)
    for (const secret of [a.cookie.split('=')[1], b.cookie.split('=')[1], tokenOf('approver')]) expect(text).not.toContain(secret);

    // A form post and a fragment (a fetch asking for JSON) are counted and refused too.
    const post = await a.post(`/ui/requests/${f.id}/approve`, { comment: 'over the limit' });
    expect(post.status).toBe(429);
    const fragment = await fetch(`${f.app.url}/ui/queue`, { headers: { cookie: b.cookie, accept: 'application/json', 'hx-request': 'true' } });
    expect(fragment.status).toBe(429);
    expect(fragment.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await fragment.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    // Nothing was decided by the refused post.
    expect((await f.app.call('auditor', 'GET', `/v1/requests/${f.id}`)).body.status).toBe('awaiting_approval');
    // Assets do not count, and another principal has its own count.
    expect((await fetch(`${f.app.url}/ui/assets/app.css`)).status).toBe(200);
    const other = await session(f.app, 'auditor');
    expect((await other.get('/ui/alerts')).status).toBe(200);
  });

  it('limits sign-in attempts per address whatever the token, without showing the token back', async () => {
    // The test above signed in three times from this address; one attempt is left.
    const wrong = await trySignIn(f.app.url, 'not-a-token-at-all');
    expect(wrong.status).toBe(401);
    const right = await trySignIn(f.app.url, tokenOf('dev'));
    expect(right.status).toBe(429);
    expect(cookieOf(right, 'portcullis_session')).toBeUndefined();
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const text = await right.text();
    expect(text).toContain('RATE_LIMITED');
    expect(text).toContain(`more than ${SIGN_INS} sign-in attempts per minute from this address`);
    expect(text).not.toContain(tokenOf('dev'));
    // The API itself is not limited by the console's sign-in count (its own limits apply there).
    expect((await f.app.call('dev', 'GET', '/v1/requests?limit=1')).status).toBe(200);
  });
});
