/**
 * Console sign-in with OIDC in a real browser (issue 14.1): Debian's Chromium, headless, driven by
 * playwright-core, against the real oidc-provider on loopback and Portcullis's own routes. The
 * person signs in through the provider's login and consent pages and lands on the console signed
 * in (the session as the server sees it: /ui/login/oidc/session, until the console's pages use the
 * session); a group removed at the provider takes its access away at the next refresh, and with no
 * group left the session ends; sign-out ends the session and goes through the provider's
 * end_session page. The refresh is made due by moving the session's refresh time in Redis (the
 * clock the session layer reads), never by waiting.
 */
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../../harness/app';
import { startOidcProvider, type OidcProvider } from '../../harness/oidc';
import { freePort, tempDir } from '../../harness/proc';

const SECRET_ENV = 'PORTCULLIS_TEST_OIDC_CONSOLE_SECRET';
let op: OidcProvider;
let app: TestApp;
let browser: Browser;
let base: string;
const shots = tempDir('oidc-browser');

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const client = { id: 'console', secret: 'console-secret-2', redirectUri: `${base}/ui/callback`, postLogoutRedirectUris: [`${base}/ui/login?ended=signout`] };
  op = await startOidcProvider({ clients: [client], users: { alice: { groups: ['payments-devs', 'payments-approvers'], username: 'alice.a', password: 'correct horse' } } });
  process.env[SECRET_ENV] = client.secret;
  app = await startTestApp({
    worker: false,
    config: {
      server: { host: '127.0.0.1', port },
      auth: {
        oidc: {
          issuer: op.issuer, clientId: client.id, clientSecretEnv: SECRET_ENV, redirectUri: client.redirectUri,
          scopes: ['openid', 'profile', 'groups', 'offline_access'],
          groups: { 'payments-devs': { roles: ['developer'], teams: ['payments'] }, 'payments-approvers': { roles: ['approver'], teams: ['payments'] } },
        },
      },
    },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await op?.stop();
  delete process.env[SECRET_ENV];
});

/** Makes every console session's refresh due now (what the passing of sessionRefreshSeconds does). */
async function refreshDue(): Promise<number> {
  const keys = await app.redis.keys(`${app.config.redis.prefix}:ui:session:*`);
  for (const key of keys) {
    const data = JSON.parse((await app.redis.hget(key, 'data'))!) as { oidc?: { refreshAt: number } };
    if (data.oidc) await app.redis.hset(key, 'data', JSON.stringify({ ...data, oidc: { ...data.oidc, refreshAt: 0 } }));
  }
  return keys.length;
}

async function sessionOf(page: Page): Promise<{ status: number; body: any }> {
  const res = await page.goto(`${base}/ui/login/oidc/session`);
  return { status: res!.status(), body: JSON.parse(await page.locator('body').innerText()) };
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${base}/ui/login/oidc?next=/ui/login/oidc/session`);
  // The provider's login page, then its consent page.
  expect(new URL(page.url()).origin).toBe(op.issuer);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('correct horse');
  await page.screenshot({ path: path.join(shots, 'provider-login.png') });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  // Back at the console: the callback page moves on to `next` by itself.
  await page.waitForURL(`${base}/ui/login/oidc/session`);
}

describe('console sign-in with OIDC in Chromium', () => {
  it('signs in through the provider, loses a removed group at the next refresh, and is signed out with no group left', async () => {
    await op.setGroups('alice', ['payments-devs', 'payments-approvers']);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    const landed = JSON.parse(await page.locator('body').innerText());
    expect(landed).toMatchObject({ name: 'alice.a', source: 'oidc', subject: `oidc:${op.issuer}#alice`, roles: ['developer', 'approver'], teams: ['payments'] });
    await page.screenshot({ path: path.join(shots, 'signed-in.png') });
    // The session cookie is the browser's only credential, and no script can read it.
    const cookie = (await context.cookies(`${base}/ui/`)).find((c) => c.name === 'portcullis_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/ui' });
    expect(await page.evaluate('document.cookie')).not.toContain('portcullis_session');

    // The approver group is removed at the provider: nothing changes until the refresh is due.
    await op.setGroups('alice', ['payments-devs']);
    expect((await sessionOf(page)).body.roles).toEqual(['developer', 'approver']);
    expect(await refreshDue()).toBe(1);
    expect(await sessionOf(page)).toMatchObject({ status: 200, body: { roles: ['developer'], groups: ['payments-devs'] } });

    // No mapped group left: the refresh refuses, the session ends.
    await op.setGroups('alice', ['marketing']);
    await refreshDue();
    const ended = await sessionOf(page);
    expect(ended.status).toBe(401);
    expect(ended.body.error.code).toBe('UNAUTHENTICATED');
    expect(await app.redis.keys(`${app.config.redis.prefix}:ui:session:*`)).toEqual([]);
    await context.close();
  });

  it('signs out: the session ends and the browser passes through the provider\'s end_session page', async () => {
    await op.setGroups('alice', ['payments-devs', 'payments-approvers']);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    const { csrf } = JSON.parse(await page.locator('body').innerText()) as { csrf: string };
    // A sign-out form as a console page carries it: POST with the session's CSRF token.
    // (a string: the test is compiled without the DOM's types)
    await page.evaluate(`{
      const form = document.createElement('form');
      form.method = 'post';
      form.action = '/ui/logout/oidc';
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = 'csrf';
      input.value = ${JSON.stringify(csrf)};
      form.append(input);
      document.body.append(form);
      form.submit();
    }`);
    await page.waitForURL((u) => u.origin === op.issuer);
    await page.screenshot({ path: path.join(shots, 'provider-sign-out.png') });
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${base}/ui/login?ended=signout`);
    expect((await sessionOf(page)).status).toBe(401);
    expect((await context.cookies(`${base}/ui/`)).find((c) => c.name === 'portcullis_session')).toBeUndefined();
    await context.close();
  });

  it('refuses a sign-out without the session\'s CSRF token, and keeps the session', async () => {
    await op.setGroups('alice', ['payments-devs']);
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page);
    const status = await page.evaluate(async () => (await fetch('/ui/logout/oidc', { method: 'POST', redirect: 'manual' })).status);
    expect(status).toBe(403);
    expect((await sessionOf(page)).status).toBe(200);
    await context.close();
  });
});
