/**
 * The overview's numbers against what the ledger holds, and its trend chart's axis in Chromium:
 * - "Approved images" counts approvals (the ledger's team, image and digest), not approved
 *   requests: a second request for a digest already approved is answered at once with no scan,
 *   and must neither count again nor show as "not indexed" (it never will be); each team's
 *   overview counts its own approvals only.
 * - The 30-day chart's time axis is the 30 days ending today with one snapshot or none (uPlot
 *   alone stretched a single point over ~1000 days: an axis from 2027 to 2029).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { tokenOf, type TestApp, type Who } from '../../harness/app';
import { services } from '../../harness/services';
import { storeKeys } from '../../../src/store/keys';
import type { DailySnapshot, Monitoring } from '../../../src/ui/data/monitoring';
import { monitoringNotConfigured } from '../../../src/ui/data/monitoring';
import { ADVISORY } from '../flow/scan-fixtures';
import { launchChromium, screenshot, seriousViolations } from './browser';
import { session, startConsoleFixture, type ConsoleFixture } from './console-fixture';

const DAY = 86_400_000;
const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The days the snapshot source answers with (set by each test). */
let snapshotDays: string[] = [];
const monitoring: Monitoring = {
  ...monitoringNotConfigured(['builtin']),
  snapshots: {
    configured: true,
    list: async (teams, from, to) => snapshotDays.filter((d) => d >= from && d <= to).map((day): DailySnapshot => ({
      team: teams === '*' ? 'payments' : teams[0], day, byState: {}, atRisk: 0, meanTimeToDecisionSeconds: null,
      uniqueCves: { critical: 1, high: 3, medium: 0, low: 0, unknown: 0 }, instances: { critical: 1, high: 3, medium: 0, low: 0, unknown: 0 },
    })),
  },
};

/** The "Approved images" tile: its number and the line under it. */
function approvedTile(page: string): { images: number; note: string } {
  const m = /<div>Approved images<\/div><div class="big">(\d+)<\/div><div>([^<]*)<\/div>/.exec(page);
  if (!m) throw new Error('no "Approved images" tile on the overview');
  return { images: Number(m[1]), note: m[2] };
}

async function overviewTile(app: TestApp, who: Who, query = ''): Promise<{ images: number; note: string }> {
  const s = await session(app, who);
  const res = await s.get(`/ui/overview${query}`);
  expect(res.status).toBe(200);
  return approvedTile(await res.text());
}

/** Waives the blocking advisory and approves (by `approver`), then waits until promoted. */
async function waiveAndApprove(app: TestApp, approver: Who, id: string): Promise<void> {
  const waived = await app.call(approver, 'POST', `/v1/requests/${id}/waivers`, { findingId: ADVISORY, reason: 'not reachable here', expires: new Date(Date.now() + 30 * DAY).toISOString() });
  expect([waived.status, waived.text]).toEqual([201, expect.any(String)]);
  const approved = await app.call(approver, 'POST', `/v1/requests/${id}/approve`, { comment: 'ok' });
  expect(approved.status).toBeLessThan(300);
  await app.waitForStatus(id, ['approved']);
}

describe('console overview', () => {
  let f: ConsoleFixture;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [f, browser] = await Promise.all([startConsoleFixture({ monitoring }), launchChromium()]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await f?.app.stop();
  });

  it('counts approved images as the ledger keeps them, not the requests answered from an existing approval, per team', async () => {
    await waiveAndApprove(f.app, 'approver', f.id);
    const digest = (await f.app.call('auditor', 'GET', `/v1/requests/${f.id}`)).body.source.digest as string;
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    // Asked again by digest (answered at creation) and by tag (answered when resolved): the same image.
    const byDigest = await f.app.call('dev', 'POST', '/v1/requests', { image: `${services().upstream.host}/${f.repo}@${digest}`, team: 'payments', justification: 'again' });
    expect([byDigest.status, byDigest.body.status]).toEqual([200, 'approved']);
    const byTag = await f.app.call('dev', 'POST', '/v1/requests', { image: f.image, team: 'payments', justification: 'and again' });
    await f.app.waitForStatus(byTag.body.id, ['approved']);
    const requests = await f.app.call('auditor', 'GET', '/v1/requests?team=payments&status=approved');
    expect(requests.body.items.length).toBe(3);

    expect(await overviewTile(f.app, 'approver')).toEqual({ images: 1, note: 'all indexed' });

    // Another team approves the same digest through its own run: its own approval, counted for it only.
    const other = await f.app.call('otherDev', 'POST', '/v1/requests', { image: f.image, team: 'logistics', justification: 'ours too' });
    await f.app.waitForStatus(other.body.id, ['awaiting_approval']);
    await waiveAndApprove(f.app, 'approver2', other.body.id);
    expect(await overviewTile(f.app, 'approver')).toEqual({ images: 1, note: 'all indexed' });
    expect(await overviewTile(f.app, 'otherDev')).toEqual({ images: 1, note: 'all indexed' });
    expect(await overviewTile(f.app, 'auditor')).toEqual({ images: 2, note: 'all indexed' });
    expect(await overviewTile(f.app, 'auditor', '?team=logistics')).toEqual({ images: 1, note: 'all indexed' });

    // "Not indexed yet" is a real lag: an approval whose scanned request is not in the index yet.
    expect(await f.app.redis.del(storeKeys(f.app.config.redis.prefix).findingDigest(other.body.id))).toBe(1);
    expect(await overviewTile(f.app, 'auditor')).toEqual({ images: 2, note: '1 not indexed yet' });
    expect(await overviewTile(f.app, 'approver')).toEqual({ images: 1, note: 'all indexed' });
  });

  describe('trend chart in Chromium', () => {
    async function chartWindow(days: string[], name: string): Promise<{ from: string; to: string; min: number; max: number; points: number }> {
      snapshotDays = days;
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      const page: Page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => { errors.push(e.message); });
      // Keeps each chart app.js draws (uPlot is a global `var`: the setter sees it assigned).
      await page.addInitScript(`(() => {
        let real; window.__plots = [];
        Object.defineProperty(window, 'uPlot', { configurable: true, get() { return real; }, set(U) {
          const W = function (opts, data, el) { const u = new U(opts, data, el); window.__plots.push(u); return u; };
          Object.assign(W, U); real = W;
        } });
      })()`);
      await page.goto(`${f.app.url}/ui/login`);
      await page.getByLabel('API token').fill(tokenOf('approver'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/ui\/overview/);
      // (waitForFunction evaluates a string, which the page's CSP refuses; uPlot adds div.uplot.)
      await page.waitForSelector('[data-trend-src] .uplot', { timeout: 15_000 });
      await page.waitForLoadState('networkidle');
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, name);
      const trends = await (await page.request.get(`${f.app.url}/ui/overview/trends.json?days=30`)).json() as { from: string; to: string; days: string[] };
      const scale = await page.evaluate('({ min: window.__plots[0].scales.x.min, max: window.__plots[0].scales.x.max, points: window.__plots[0].data[0].length })') as { min: number; max: number; points: number };
      expect(errors).toEqual([]);
      return { from: trends.from, to: trends.to, ...scale };
    }

    /** The axis runs from 29 days before today to today (midnight UTC), the days trends.json reports. */
    function expectThirtyDaysEndingToday(w: { from: string; to: string; min: number; max: number }): void {
      const now = Date.now();
      // Midnight may pass between the page's read and this one: yesterday's window is as right.
      const windows = [now, now - DAY].map((t) => [Math.floor(t / DAY) * 86_400 - 29 * 86_400, Math.floor(t / DAY) * 86_400]);
      expect(windows).toContainEqual([w.min, w.max]);
      expect([w.from, w.to]).toEqual([dayOf(w.min * 1000), dayOf(w.max * 1000)]);
    }

    it('spans the 30 days ending today with a single snapshot', async () => {
      const w = await chartWindow([dayOf(Date.now())], 'overview-trend-one-point');
      expect(w.points).toBe(1);
      expectThirtyDaysEndingToday(w);
    });

    it('spans the 30 days ending today with no snapshot at all', async () => {
      const w = await chartWindow([], 'overview-trend-no-point');
      expect(w.points).toBe(0);
      expectThirtyDaysEndingToday(w);
    });
  });
});
