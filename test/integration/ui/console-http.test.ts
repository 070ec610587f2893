/**
 * The console over plain HTTP (issue 15): sign-in with a token typed once (never stored),
 * cookie flags, failed sign-ins counted in the API's shared failed-auth limit, CSRF on every
 * POST, CSP and no inline script, team isolation (404) on pages and search, four-eyes shown in
 * words, sign-out. The browser scenarios are in console-browser.test.ts.
 */
import { RedisRateCounter } from '../../../src/lib/rate-counter';
import type { AtRiskApproval, Monitoring } from '../../../src/ui/data/monitoring';
import { ADVISORY, ADVISORY_ALIAS } from '../flow/scan-fixtures';
import { cookieOf, csrfIn, session, startConsoleFixture, type ConsoleFixture } from './console-fixture';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const AT_RISK: AtRiskApproval[] = [
  { team: 'payments', image: 'docker.io/library/payments-api', digest: DIGEST, since: '2026-11-30T00:00:00Z', deadline: '2026-12-07T00:00:00Z', reason: 'new high finding CVE-2099-7777', newFindings: [{ id: 'CVE-2099-7777', severity: 'high' }] },
  { team: 'logistics', image: 'docker.io/library/trucks', digest: DIGEST, since: '2026-11-30T00:00:00Z', reason: 'waiver expired on CVE-2099-8888', newFindings: [] },
];
const seenScopes: Array<readonly string[] | '*'> = [];
/** Monitoring as the health and inventory workstreams will provide it: the scope passed in decides what is shown. */
const monitoring: Monitoring = {
  health: {
    configured: true,
    atRisk: async (teams) => { seenScopes.push(teams); return AT_RISK.filter((a) => teams === '*' || teams.includes(a.team)); },
    healthOf: async () => 'at_risk',
  },
  snapshots: {
    configured: true,
    list: async (teams, from, to) => ['2026-11-29', '2026-11-30', '2026-12-01'].filter((d) => d >= from && d <= to).map((day, i) => ({
      team: teams === '*' ? 'payments' : teams[0], day, byState: {}, atRisk: i, meanTimeToDecisionSeconds: null,
      uniqueCves: { critical: i, high: 2 * i, medium: 0, low: 0, unknown: 0 }, instances: { critical: i, high: 2 * i, medium: 0, low: 0, unknown: 0 },
    })),
  },
  freshness: { configured: true, list: async () => [{ scanner: 'builtin', stale: true, updatedAt: '2026-11-01T00:00:00Z' }, { scanner: 'clair-prod', stale: null }] },
  drift: { configured: true, recent: async () => [{ team: 'payments', image: 'docker.io/library/payments-api', tag: '1.2', oldDigest: DIGEST, newDigest: `sha256:${'d'.repeat(64)}`, at: '2026-12-01T00:00:00Z' }] },
};

describe('console over HTTP', () => {
  let f: ConsoleFixture;
  beforeAll(async () => { f = await startConsoleFixture({ monitoring }); });
  afterAll(async () => { await f?.app.stop(); });

  it('asks to sign in, with a strict CSP, no inline script or style, and a login cookie scoped to /ui', async () => {
    const anon = await fetch(`${f.app.url}/ui/overview`, { redirect: 'manual' });
    expect(anon.status).toBe(303);
    expect(anon.headers.get('location')).toBe('/ui/login?next=%2Fui%2Foverview');
    const login = await fetch(`${f.app.url}/ui/login`);
    const csp = login.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(login.headers.get('cache-control')).toBe('no-store');
    const text = await login.text();
    expect(text.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    expect(text).not.toMatch(/\sstyle=/);
    expect(cookieOf(login, 'portcullis_login')).toMatch(/; Path=\/ui; HttpOnly; SameSite=Strict; Max-Age=600$/);
  });

  it('refuses a sign-in without the form token, and counts a wrong token against the failed-auth limit', async () => {
    const noCsrf = await fetch(`${f.app.url}/ui/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=token-approver' });
    expect(noCsrf.status).toBe(403);
    expect(await noCsrf.text()).toContain('CSRF_INVALID');
    const counter = new RedisRateCounter(f.app.redis, `${f.app.config.redis.prefix}:ratelimit:failed-auth`);
    const before = (await counter.peek('127.0.0.1')).count + (await counter.peek('::ffff:127.0.0.1')).count;
    await expect(session(f.app, 'approver', 'not-a-token')).rejects.toThrow('answered 401');
    const after = (await counter.peek('127.0.0.1')).count + (await counter.peek('::ffff:127.0.0.1')).count;
    expect(after).toBe(before + 1);
  });

  it('signs in with an HttpOnly SameSite=Strict session cookie; Redis keeps the principal, never the token', async () => {
    const login = await fetch(`${f.app.url}/ui/login`);
    const res = await fetch(`${f.app.url}/ui/login`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie: cookieOf(login, 'portcullis_login')!.split(';')[0], 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfIn(await login.text()), token: 'token-approver', next: '//evil.example/x' }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/overview');
    const set = cookieOf(res, 'portcullis_session')!;
    expect(set).toMatch(/^portcullis_session=[A-Za-z0-9_-]{43}; Path=\/ui; HttpOnly; SameSite=Strict$/);
    const keys = await f.app.redis.keys(`${f.app.config.redis.prefix}:ui:session:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      const stored = JSON.stringify(await f.app.redis.hgetall(k));
      expect(stored).not.toContain('token-approver');
      expect(k).not.toContain(set.split(';')[0].split('=')[1]);
    }
  });

  it('shows the queue and the request to an approver of the team, and refuses a POST without the CSRF token', async () => {
    const s = await session(f.app, 'approver');
    const queue = await s.get('/ui/queue');
    expect(queue.status).toBe(200);
    const q = await queue.text();
    expect(q).toContain(`/ui/requests/${f.id}`);
    expect(q).toContain('flagged: 1 blocking');
    const page = await (await s.get(`/ui/requests/${f.id}`)).text();
    expect(page).toContain(ADVISORY);
    expect(page).toContain('=HYPERLINK(&quot;http://evil.example&quot;'); // escaped, not markup
    const forged = await s.post(`/ui/requests/${f.id}/approve`, { comment: 'no token' }, false);
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('CSRF_INVALID');
    const wrong = await s.post(`/ui/requests/${f.id}/reject`, { reason: 'x', csrf: 'A'.repeat(43) }, false);
    expect(wrong.status).toBe(403);
    expect((await f.app.call('auditor', 'GET', `/v1/requests/${f.id}`)).body.status).toBe('awaiting_approval');
  });

  it('lets only admins revoke from the inventory', async () => {
    const s = await session(f.app, 'approver');
    const res = await s.post('/ui/inventory/revoke', { team: 'payments', image: 'docker.io/library/x', digest: DIGEST, reason: 'no' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Your roles do not allow this.');
  });

  it('tells the requester in words that four-eyes stops them', async () => {
    const s = await session(f.app, 'devApprover');
    const res = await s.post(`/ui/requests/${f.id}/approve`, { comment: 'my own' });
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(text).toContain('four-eyes rule');
    expect(text).toContain('FOUR_EYES');
  });

  it('shows nothing of another team: 404 on the request, no search hit, 404 on its inventory', async () => {
    const s = await session(f.app, 'otherDev');
    expect((await s.get(`/ui/requests/${f.id}`)).status).toBe(404);
    // Exact and by prefix (case-insensitive): the same isolation.
    for (const term of [ADVISORY, ADVISORY_ALIAS, 'libgate2', 'libga', 'cve-2099-00', ADVISORY.slice(0, 8).toLowerCase()]) {
      const text = await (await s.get(`/ui/search?q=${encodeURIComponent(term)}`)).text();
      expect(text).toContain('0 requests in 0 teams');
      expect(text).not.toContain(f.id);
    }
    expect((await s.get('/ui/inventory?team=payments')).status).toBe(404);
    expect((await s.get('/ui/overview?team=payments')).status).toBe(404);
    const mine = await session(f.app, 'dev');
    for (const term of [ADVISORY_ALIAS, 'libga', 'cve-2099-00', ADVISORY.slice(0, 8).toLowerCase()]) {
      const hit = await (await mine.get(`/ui/search?q=${encodeURIComponent(term)}`)).text();
      expect([term, hit.includes(`/ui/requests/${f.id}`)]).toEqual([term, true]);
    }
  });

  it('shows monitoring within the teams the person reads: at-risk, stale and unknown scanners, trends, drift', async () => {
    const s = await session(f.app, 'approver');
    const overview = await (await s.get('/ui/overview')).text();
    expect(seenScopes.at(-1)).toEqual(['payments']);
    expect(overview).toContain('docker.io/library/payments-api');
    expect(overview).not.toContain('docker.io/library/trucks');
    expect(overview).toContain('<strong>builtin</strong>: <span class="tag state-stale">stale</span>');
    expect(overview).toContain('<strong>clair-prod</strong>: <span class="tag state-unknown">unknown</span>');
    expect(overview).not.toContain('state-fresh');
    expect(overview).toContain('data-trend-src="/ui/overview/trends.json?days=30"');
    const trends = await (await s.get('/ui/overview/trends.json?days=7')).json() as { days: string[]; series: Array<{ label: string; values: number[] }> };
    expect(trends.series.find((x) => x.label === 'high')?.values.length).toBe(trends.days.length);
    const alerts = await (await s.get('/ui/alerts')).text();
    expect(alerts).toContain('new high finding CVE-2099-7777');
    expect(alerts).toMatch(/<td><code>docker.io\/library\/payments-api<\/code><\/td><td><code>1.2<\/code><\/td>/);
    expect(alerts).not.toContain('waiver expired on CVE-2099-8888');
    const auditor = await session(f.app, 'auditor');
    expect(await (await auditor.get('/ui/alerts')).text()).toContain('waiver expired on CVE-2099-8888');
    expect(seenScopes.at(-1)).toBe('*');
  });

  it('shows ci (which resolves approved images and reads no request) the inventory only, as /v1 does', async () => {
    const s = await session(f.app, 'ci');
    const home = await s.get('/ui/overview');
    expect([home.status, home.headers.get('location')]).toEqual([303, '/ui/inventory']);
    for (const page of ['/ui/alerts', '/ui/overview/trends.json?days=30', '/ui/search?q=CVE']) expect([page, (await s.get(page)).status]).toEqual([page, 403]);
    const inventory = await s.get('/ui/inventory');
    expect(inventory.status).toBe(200);
    const nav = (await inventory.text()).match(/<nav aria-label="Main">.*?<\/nav>/s)?.[0];
    expect(nav).toContain('/ui/inventory');
    for (const hidden of ['/ui/overview', '/ui/alerts', '/ui/search', '/ui/queue', '/ui/audit']) expect(nav).not.toContain(hidden);
    expect((await f.app.call('ci', 'GET', '/v1/requests')).status).toBe(403);
  });

  it('signs out: the session ends in Redis and the cookie no longer opens a page', async () => {
    const s = await session(f.app, 'auditor');
    expect((await s.get('/ui/audit')).status).toBe(200);
    const out = await s.post('/ui/logout', {});
    expect(out.status).toBe(303);
    expect(cookieOf(out, 'portcullis_session')).toContain('Max-Age=0');
    const after = await s.get('/ui/audit');
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/ui/login');
  });
});
