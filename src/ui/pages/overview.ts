/**
 * The security overview: requests by state, the queue's size and oldest age, approved images by
 * highest severity with unique CVEs and instances, at-risk approvals, scanner data freshness
 * (unknown is grey, never green), and trends over 7/30/90/365 days from the daily snapshots,
 * for every team the person reads or one of them.
 */
import type { Response, Router } from 'express';
import { z } from 'zod';
import { hasRole, readableTeams, REQUEST_READ_ROLES, requireRole } from '../../intake';
import { parseInput } from '../../api/middleware/validate';
import { AppError } from '../../lib/errors';
import { SEVERITIES } from '../../scanners/types';
import { REQUEST_STATUSES } from '../../store/types';
import { uiOf } from '../auth';
import { approvedImages, foldApproved } from '../data/approved-view';
import type { ScannerFreshness } from '../data/monitoring';
import type { ConsoleDeps } from '../deps';
import { age, severityBadge, statusBadge, timeEl } from '../format';
import { html, query, type Html } from '../html';
import { send } from '../render';
import { teamSelect, visibleTeams } from './teams';

const overviewQuery = z.object({ team: z.string().max(100).optional(), days: z.enum(['7', '30', '90', '365']).optional() });

async function scopeOf(deps: ConsoleDeps, res: Response, team: string | undefined): Promise<{ scope: readonly string[] | '*'; teams: string[] }> {
  const p = uiOf(res).principal;
  const teams = await visibleTeams(deps, p);
  if (!team) return { scope: readableTeams(p), teams };
  if (readableTeams(p) !== '*' && !teams.includes(team)) throw new AppError('NOT_FOUND', `team ${team} not found`);
  return { scope: [team], teams };
}

function freshness(list: ScannerFreshness[]): Html {
  if (!list.length) return html`<p class="empty">No scanner configured.</p>`;
  return html`<ul class="plain">${list.map((f) => html`<li><strong>${f.scanner}</strong>: ${f.stale === null ? html`<span class="tag state-unknown">unknown</span>`
    : f.stale ? html`<span class="tag state-stale">stale</span>` : html`<span class="tag state-fresh">fresh</span>`}${f.dataVersion ? html` data ${f.dataVersion}` : ''}${f.updatedAt ? html`, updated ${timeEl(f.updatedAt)}` : ''}</li>`)}</ul>`;
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export function overviewRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/overview', async (req, res) => {
    // The overview counts and lists requests, which `ci` may not read (/v1 refuses it too): its
    // home is the approved images it resolves.
    if (!hasRole(uiOf(res).principal, ...REQUEST_READ_ROLES)) {
      res.redirect(303, '/ui/inventory');
      return;
    }
    const q = parseInput(overviewQuery, req.query, 'query');
    const { scope, teams } = await scopeOf(deps, res, q.team);
    const days = q.days ?? '30';
    const m = deps.monitoring;
    const [counts, oldest, approved, atRisk, fresh] = await Promise.all([
      deps.store.stats.countByStatus(scope),
      deps.store.requests.list({ teams: scope === '*' ? '*' : [...scope], status: 'awaiting_approval', limit: 1, order: 'asc' }),
      // The ledger is kept per team: "all teams" is every team that has requests (an approval comes from one).
      approvedImages(deps.store.approvals, scope === '*' ? teams : scope).then((list) => foldApproved(deps.store.findings, list)),
      m.health.configured ? m.health.atRisk(scope) : Promise.resolve(null),
      m.freshness.list(),
    ]);
    const maxImages = Math.max(1, ...Object.values(approved.byHighest));
    const body = html`
<form method="get" action="/ui/overview" class="filters">${teamSelect(teams, q.team, 'all my teams')}<input type="hidden" name="days" value="${days}"><button type="submit">Show</button></form>
<div class="tiles">
  <div class="tile"><div>Awaiting approval</div><div class="big">${counts.awaiting_approval}</div>
    <div>${oldest.items[0] ? html`oldest waits ${age(oldest.items[0].createdAt)}` : 'queue empty'}</div></div>
  <div class="tile"><div>Approved images</div><div class="big">${approved.images}</div><div>${approved.notIndexed ? `${approved.notIndexed} not indexed yet` : 'all indexed'}</div></div>
  <div class="tile"><div>At-risk approvals</div><div class="big">${atRisk ? atRisk.length : html`<span class="tag state-unknown">unknown</span>`}</div>
    <div>${atRisk ? html`<a href="/ui/alerts">see alerts</a>` : 'monitoring not configured'}</div></div>
</div>
<section aria-labelledby="states-h"><h2 id="states-h">Requests by state</h2>
<div class="table-wrap"><table><thead><tr>${REQUEST_STATUSES.map((s) => html`<th scope="col">${statusBadge(s)}</th>`)}</tr></thead>
<tbody><tr>${REQUEST_STATUSES.map((s) => html`<td class="num">${counts[s]}</td>`)}</tr></tbody></table></div></section>
<section aria-labelledby="sev-h"><h2 id="sev-h">Approved images by highest severity</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Highest severity</th><th scope="col" class="num">Images</th><th scope="col"><span class="sr-only">Share</span></th><th scope="col" class="num">Unique CVEs</th><th scope="col" class="num">Instances</th></tr></thead>
<tbody>${[...SEVERITIES, 'none' as const].map((s) => html`<tr><td>${severityBadge(s)}</td><td class="num">${approved.byHighest[s]}</td>
<td><meter min="0" max="${maxImages}" value="${approved.byHighest[s]}" aria-label="${s}: ${approved.byHighest[s]} images"></meter></td>
<td class="num">${s === 'none' ? '—' : approved.uniqueCves[s]}</td><td class="num">${s === 'none' ? '—' : approved.instances[s]}</td></tr>`)}</tbody></table></div></section>
<section aria-labelledby="risk-h"><h2 id="risk-h">At-risk approvals</h2>
${atRisk === null ? html`<p><span class="tag state-unknown">monitoring not configured</span> Approvals are not re-evaluated after approval yet, so none can be shown as healthy.</p>`
    : atRisk.length === 0 ? html`<p>None.</p>` : html`<ul>${atRisk.slice(0, 20).map((a) => html`<li>${a.team} <code>${a.image}</code>: ${a.reason}${a.deadline ? html`, deadline ${timeEl(a.deadline)}` : ''}</li>`)}</ul>`}</section>
<section aria-labelledby="fresh-h"><h2 id="fresh-h">Scanner data freshness</h2>${freshness(fresh)}</section>
<section aria-labelledby="trend-h"><h2 id="trend-h">Trends</h2>
<p class="tabs">${(['7', '30', '90', '365'] as const).map((d) => html`<a href="/ui/overview${query({ team: q.team, days: d })}"${d === days ? html` aria-current="true"` : ''}>${d} days</a>`)}</p>
${m.snapshots.configured ? html`<div class="chart" data-trend-src="/ui/overview/trends.json${query({ team: q.team, days })}" role="img" aria-label="Unique CVEs over approved images, last ${days} days"></div>
<p class="hint"><a href="/ui/overview/trends.json${query({ team: q.team, days })}">The same data as JSON</a></p>`
    : html`<p><span class="tag state-unknown">no daily snapshots</span> Trends appear once daily snapshots are recorded (monitoring).</p>`}</section>`;
    send(res, 'Security overview', body);
  });

  router.get('/ui/overview/trends.json', async (req, res) => {
    requireRole(uiOf(res).principal, REQUEST_READ_ROLES, 'the security trends');
    const q = parseInput(overviewQuery, req.query, 'query');
    const { scope } = await scopeOf(deps, res, q.team);
    const now = (deps.now ?? Date.now)();
    const from = dayOf(now - (Number(q.days ?? '30') - 1) * 86_400_000);
    const snaps = await deps.monitoring.snapshots.list(scope, from, dayOf(now));
    const byDay = new Map<string, Record<string, number>>();
    for (const s of snaps) {
      const d = byDay.get(s.day) ?? {};
      for (const sev of ['critical', 'high', 'medium', 'low'] as const) d[sev] = (d[sev] ?? 0) + s.uniqueCves[sev];
      byDay.set(s.day, d);
    }
    const dayList = [...byDay.keys()].sort();
    // `from`/`to`: the window asked for, so that the chart's time axis is that window whatever
    // the points (uPlot stretches one point over ~1000 days, and draws no axis for none).
    res.json({
      unit: 'unique CVEs (approved images)', from, to: dayOf(now), days: dayList,
      series: (['critical', 'high', 'medium', 'low'] as const).map((sev) => ({ label: sev, values: dayList.map((d) => byDay.get(d)?.[sev] ?? 0) })),
    });
  });
}
