/** Alerts: at-risk approvals, upstream drift, and waivers of approved images about to expire (or expired). */
import type { Router } from 'express';
import { readableTeams, REQUEST_READ_ROLES, requireRole } from '../../intake';
import { uiOf } from '../auth';
import { approvedRequests, expiringWaivers } from '../data/approved-view';
import type { ConsoleDeps } from '../deps';
import { severityBadge, shortDigest, timeEl } from '../format';
import { html } from '../html';
import { send } from '../render';

export function alertsRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/alerts', async (_req, res) => {
    const { principal: p } = uiOf(res);
    requireRole(p, REQUEST_READ_ROLES, 'the alerts');
    const scope = readableTeams(p);
    const m = deps.monitoring;
    const now = (deps.now ?? Date.now)();
    const [atRisk, drift, approved] = await Promise.all([
      m.health.configured ? m.health.atRisk(scope) : Promise.resolve(null),
      m.drift.configured ? m.drift.recent(scope, 50) : Promise.resolve(null),
      approvedRequests(deps.store.requests, scope),
    ]);
    const waivers = expiringWaivers(approved, now);
    const unknown = html`<p><span class="tag state-unknown">monitoring not configured</span></p>`;
    const body = html`
<section aria-labelledby="risk-h"><h2 id="risk-h">At-risk approvals</h2>
${atRisk === null ? unknown : atRisk.length === 0 ? html`<p>None.</p>` : html`<div class="table-wrap"><table><thead><tr><th scope="col">Team</th><th scope="col">Image</th><th scope="col">Why</th><th scope="col">New findings</th><th scope="col">Deadline</th></tr></thead>
<tbody>${atRisk.map((a) => html`<tr><td>${a.team}</td><td>${a.requestId ? html`<a href="/ui/requests/${a.requestId}">${a.image}</a>` : a.image}<br><small><code>${shortDigest(a.digest)}</code></small></td><td>${a.reason}</td>
<td>${a.newFindings.slice(0, 10).map((f) => html`${severityBadge(f.severity)} <span class="fid">${f.id}</span> `)}</td><td>${timeEl(a.deadline)}</td></tr>`)}</tbody></table></div>`}</section>
<section aria-labelledby="drift-h"><h2 id="drift-h">Upstream drift</h2>
${drift === null ? unknown : drift.length === 0 ? html`<p>None.</p>` : html`<div class="table-wrap"><table class="drift"><caption>Approved tags seen moved upstream, newest first</caption>
<thead><tr><th scope="col">Team</th><th scope="col">Repository</th><th scope="col">Tag</th><th scope="col">Approved digest</th><th scope="col">Upstream now</th><th scope="col">Seen</th><th scope="col">Request for the new digest</th></tr></thead>
<tbody>${drift.map((d) => html`<tr><td>${d.team}</td><td><code>${d.image}</code></td><td><code>${d.tag}</code></td><td><code title="${d.oldDigest}">${shortDigest(d.oldDigest)}</code></td>
<td><code title="${d.newDigest}">${shortDigest(d.newDigest)}</code></td><td>${timeEl(d.at)}</td><td>${d.requestId ? html`<a href="/ui/requests/${d.requestId}">${d.requestId}</a>` : html`<span class="hint">none filed</span>`}</td></tr>`)}</tbody></table></div>`}</section>
<section aria-labelledby="waiver-h"><h2 id="waiver-h">Waivers expiring within 7 days</h2>
${waivers.length === 0 ? html`<p>None.</p>` : html`<div class="table-wrap"><table><thead><tr><th scope="col">Team</th><th scope="col">Image</th><th scope="col">Finding</th><th scope="col">Expires</th><th scope="col">Granted by</th></tr></thead>
<tbody>${waivers.map((w) => html`<tr><td>${w.team}</td><td><a href="/ui/requests/${w.requestId}">${w.image}</a></td><td class="fid">${w.findingId}</td>
<td>${timeEl(w.expires)}${Date.parse(w.expires) <= now ? html` <span class="tag tag-blocking">expired</span>` : ''}</td><td>${w.by}</td></tr>`)}</tbody></table></div>`}</section>`;
    send(res, 'Alerts', body);
  });
}
