/**
 * The overview's numbers against what the ledger holds, and its trend chart's axis in Chromium:
 * - "Approved images" counts approvals (the ledger's team, image and digest), not approved
 *   requests: a second request for a digest already approved is answered at once with no scan,
 *   and must neither count again nor show as "not indexed" (it never will be); each team's
 *   overview counts its own approvals only.
 * - The 30-day chart's time axis is the 30 days ending today with one snapshot or none (uPlot
 *   alone stretched a single point over ~1000 days: an axis from 2027 to 2029).
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { type TestApp, type Who } from '../../harness/app';
import { services } from '../../harness/services';
import { storeKeys } from '../../../src/store/keys';
import type { DailySnapshot, Monitoring } from '../../../src/ui/data/monitoring';
import { monitoringNotConfigured } from '../../../src/ui/data/monitoring';
import { ADVISORY } from '../flow/scan-fixtures';
import { launchChromium } from './browser';
import { session, startConsoleFixture, type ConsoleFixture } from './console-fixture';

const DAY = 86_400_000;

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
});
