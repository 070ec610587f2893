/**
 * The console in a real headless Chromium (issue 15's scenarios): the requester is stopped by
 * four-eyes (message shown); an approver signs in, opens the queue, waives the blocking finding,
 * approves, and the request page shows approved with its pull command; a developer of another
 * team sees neither the request nor its image in search (404 on its URL); an auditor exports the
 * audit log as CSV with formula-looking cells neutralised; axe-core finds no serious or critical
 * violation on any page; the CSP blocks nothing of ours (no inline script); pages fit a phone.
 * A screenshot of each page goes to test-artifacts/ui/.
 */
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { tokenOf, type Who } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { services } from '../../harness/services';
import { ADVISORY } from '../flow/scan-fixtures';
import { launchChromium, screenshot, seriousViolations } from './browser';
import { requestFixedVersion, startConsoleFixture, type ConsoleFixture } from './console-fixture';

describe('console in headless Chromium', () => {
  let f: ConsoleFixture;
  let browser: Browser;
  const cspViolations: string[] = [];
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // autoRequest: a moved tag files a request, which the Alerts page links.
    [f, browser] = await Promise.all([startConsoleFixture({ config: { monitor: { autoRequest: true } } }), launchChromium()]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await f?.app.stop();
  });

  async function signIn(who: Who, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) cspViolations.push(m.text()); });
    page.on('pageerror', (e) => { cspViolations.push(`page error: ${e.message}`); });
    await page.goto(`${f.app.url}/ui/queue`);
    expect(page.url()).toContain('/ui/login');
    await page.getByLabel('API token').fill(tokenOf(who));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ui\/(queue|overview)/);
    return page;
  }

  async function check(page: Page, name: string): Promise<void> {
    await page.waitForLoadState('networkidle');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, name);
  }

  it('shows the sign-in page accessibly, the skip link first in keyboard order', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const res = await page.goto(`${f.app.url}/ui/login`);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    expect(await page.locator('script:not([src])').count()).toBe(0);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.textContent')).toBe('Skip to content');
    await check(page, 'login');
  });

  it('stops the requester with the four-eyes rule, in words', async () => {
    const page = await signIn('devApprover');
    await page.goto(`${f.app.url}/ui/requests/${f.id}`);
    await page.getByLabel('Approval comment').fill('approving my own');
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('someone else must decide on it (four-eyes rule)');
    await check(page, 'request-four-eyes');
  });

  it('lets an approver waive the blocking finding and approve from the queue; the page then shows approved and the pull command', async () => {
    const page = await signIn('approver');
    await page.getByRole('link', { name: 'Approval queue' }).click();
    await check(page, 'queue');
    const row = page.locator('tr', { has: page.locator(`a[href="/ui/requests/${f.id}"]`) });
    await expect(row.textContent()).resolves.toContain('flagged: 1 blocking');
    await row.locator(`a[href="/ui/requests/${f.id}"]`).click();
    await page.waitForURL(`**/ui/requests/${f.id}`);
    await check(page, 'request');

    // Approving first is refused in words: the blocking finding must be waived.
    await page.getByLabel('Approval comment').fill('looks fine');
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('waive each of them');
    expect(await page.getByRole('alert').textContent()).toContain(ADVISORY);

    // The time-zone field was filled by app.js (the browser runs in UTC here, so it says so either way).
    expect(await page.locator('input[name="tz"]').inputValue()).toMatch(/^[A-Za-z_/+-]+$/);
    await page.getByLabel('Finding', { exact: true }).selectOption(ADVISORY);
    await page.getByLabel('Reason', { exact: true }).fill('not reachable: the gateway is not exposed');
    await page.getByRole('button', { name: 'Waive' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Waiver granted');
    expect(await page.locator('tr', { hasText: ADVISORY }).first().textContent()).toContain('waived');

    await page.getByLabel('Approval comment').fill('waived the gateway finding; ok');
    await page.getByRole('button', { name: 'Approve' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Approved');
    await f.app.waitForStatus(f.id, ['approved']);
    await page.reload();
    expect(await page.locator('dl.facts .status').textContent()).toBe('approved');
    const pull = await page.locator('code.pull').textContent();
    expect(pull).toMatch(new RegExp(`^docker pull \\S+/approved/payments/\\S*${f.repo}@sha256:[a-f0-9]{64}$`));
    await check(page, 'request-approved');

    // The findings filter (htmx swaps the table; the same URL works without JavaScript).
    await page.getByLabel('Severity').selectOption('critical');
    await page.waitForURL(/severity=critical/);
    expect(await page.locator('table.findings tbody tr').count()).toBeGreaterThan(0);
    for (const text of await page.locator('table.findings tbody tr .sev').allTextContents()) expect(text).toBe('critical');

    // The next version of the repository: the queue shows what changed since this approval.
    const next = await requestFixedVersion(f);
    await page.goto(`${f.app.url}/ui/queue`);
    const nextRow = page.locator('tr', { has: page.locator(`a[href="/ui/requests/${next}"]`) });
    expect(await nextRow.textContent()).toMatch(/\+0 new\s*\/\s*−1 fixed/);
    await screenshot(page, 'queue-diff');
    await nextRow.locator(`a[href="/ui/requests/${next}"]`).click();
    expect(await page.locator('#diff-h + p + .two').textContent()).toContain(ADVISORY);

    for (const [path, name] of [['/ui/overview', 'overview'], ['/ui/inventory', 'inventory'], ['/ui/alerts', 'alerts'], [`/ui/search?q=${ADVISORY}`, 'search']] as const) {
      await page.goto(`${f.app.url}${path}`);
      await check(page, name);
    }
    expect(await page.locator('table tbody tr', { hasText: f.repo }).count()).toBe(1);
    // By prefix, any case: the package's first letters find the same image.
    await page.goto(`${f.app.url}/ui/search?q=LIBGA`);
    await check(page, 'search-prefix');
    expect(await page.locator('table tbody tr', { hasText: f.repo }).count()).toBe(1);
    expect(await page.locator('main').textContent()).toContain('libgate2');
    // Monitoring is wired (approval health, snapshots); no scanner has synced data here, so
    // nothing is shown as fresh: unknown is never green.
    await page.goto(`${f.app.url}/ui/overview`);
    expect(await page.locator('main').textContent()).not.toContain('monitoring not configured');
    expect(await page.locator('.state-fresh').count()).toBe(0);
  });

  it('shows an approved tag that moved upstream on the Alerts page, with the request filed for it; another team does not see it', async () => {
    await f.app.waitForStatus(f.id, ['approved']);
    const moved = await buildImage({ layers: [{ files: { 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n', 'usr/share/moved.txt': 'a new build\n' } }], config: { User: '1000:1000' } });
    await pushImage(services().upstream.url, f.repo, '1.0', moved);
    const found = await f.app.services.monitor.drift.run();
    expect(found).toEqual([expect.objectContaining({ team: 'payments', tag: '1.0', toDigest: moved.digest, requestId: expect.any(String) })]);
    // The next run sees the same move: still one row.
    expect(await f.app.services.monitor.drift.run()).toEqual([]);

    const page = await signIn('approver');
    await page.goto(`${f.app.url}/ui/alerts`);
    const rows = page.locator('table.drift tbody tr');
    expect(await rows.count()).toBe(1);
    const text = await rows.first().textContent();
    for (const part of ['payments', f.repo, '1.0', moved.digest.slice(7, 19)]) expect(text).toContain(part);
    await rows.first().getByRole('link', { name: found[0].requestId }).click();
    await page.waitForURL(`**/ui/requests/${found[0].requestId}`);
    await page.goto(`${f.app.url}/ui/alerts`);
    await check(page, 'alerts-drift');

    const other = await signIn('otherDev');
    await other.goto(`${f.app.url}/ui/alerts`);
    expect(await other.locator('table.drift').count()).toBe(0);
    expect(await other.locator('main').textContent()).not.toContain(f.repo);
  });

  it('hides the request and its image from a developer of another team', async () => {
    const page = await signIn('otherDev');
    const res = await page.goto(`${f.app.url}/ui/requests/${f.id}`);
    expect(res?.status()).toBe(404);
    await check(page, 'not-found');
    for (const q of [ADVISORY, 'libga', ADVISORY.slice(0, 8)]) {
      await page.goto(`${f.app.url}/ui/search?q=${q}`);
      expect(await page.locator('main').textContent()).toContain('0 requests in 0 teams');
      expect(await page.locator(`a[href="/ui/requests/${f.id}"]`).count()).toBe(0);
    }
  });

  it('lets an auditor read the audit log and export it as CSV with formula-looking cells neutralised', async () => {
    const page = await signIn('auditor');
    await page.getByRole('link', { name: 'Audit log' }).click();
    expect(await page.locator('main').textContent()).toMatch(/Chain: verified \d+ entries/);
    await check(page, 'audit');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe('seq,at,actor,action,target,team,text,details,keyId,hash');
    const created = lines.find((l) => l.includes('request.created') && l.includes(f.id));
    expect(created).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    for (const line of lines.slice(1)) for (const cell of line.split(',')) expect(cell).not.toMatch(/^"?[=+@\t]/);
  });

  it('fits a phone: no page wider than the screen', async () => {
    const page = await signIn('admin', { width: 390, height: 844 });
    for (const path of ['/ui/overview', `/ui/requests/${f.id}`, '/ui/inventory?team=payments']) {
      await page.goto(`${f.app.url}${path}`);
      // Wide tables scroll inside their own frame (.table-wrap); nothing else may stick out.
      const wide = await page.evaluate(`[...document.querySelectorAll('body *')]
        .filter((e) => !(e.parentElement && e.parentElement.closest('.table-wrap')) && e.getBoundingClientRect().right > window.innerWidth + 1)
        .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 5)`);
      const widths = await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]') as number[];
      expect([path, wide, widths[0] <= widths[1] + 1]).toEqual([path, [], true]);
    }
    await screenshot(page, 'phone-inventory');
    // An admin revokes the approved image from the inventory, with a reason.
    const row = page.locator('tr', { has: page.locator(`a[href="/ui/requests/${f.id}"]`) });
    await row.getByLabel('Reason').fill('demo: superseded by 2.0');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('Revoked');
    const r = await f.app.waitForStatus(f.id, ['revoked']);
    expect(r.revocation).toMatchObject({ by: 'admin', reason: 'demo: superseded by 2.0' });
  });

  it('blocked nothing under the CSP and threw no script error', () => {
    expect(cspViolations).toEqual([]);
  });
});
