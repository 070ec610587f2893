/**
 * Approved images of one team: highest severity at approval (from the finding index), health
 * (from monitoring: unknown when not configured, never shown as ok), filters by both, and for
 * admins a revoke form with a reason (the revocation service audits it and unpublishes).
 */
import type { Router } from 'express';
import { z } from 'zod';
import { hasRole } from '../../intake';
import { parseInput } from '../../api/middleware/validate';
import { AppError } from '../../lib/errors';
import { SEVERITIES } from '../../scanners/types';
import { uiOf } from '../auth';
import type { ConsoleDeps } from '../deps';
import { highest, severityBadge, shortDigest, timeEl } from '../format';
import { html, query } from '../html';
import { notice } from '../layout';
import { send } from '../render';
import { teamSelect, visibleTeams } from './teams';

const inventoryQuery = z.object({
  team: z.string().max(100).optional(),
  severity: z.enum([...SEVERITIES, 'none', '']).optional(),
  health: z.enum(['ok', 'at_risk', 'unknown', '']).optional(),
  cursor: z.string().max(300).optional(),
  done: z.enum(['revoked']).optional(),
});
const revokeForm = z.object({ team: z.string().min(1).max(100), image: z.string().min(1).max(500), digest: z.string().regex(/^sha256:[a-f0-9]{64}$/), reason: z.string().trim().min(1).max(2000) });

export function inventoryRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/inventory', async (req, res) => {
    const { principal: p, ctx } = uiOf(res);
    const q = parseInput(inventoryQuery, req.query, 'query');
    const teams = await visibleTeams(deps, p);
    const team = q.team || teams[0];
    if (!team) return send(res, 'Approved images', html`<p class="empty">You belong to no team.</p>`);
    const page = await deps.approved.inventory(p, team, { limit: 100, cursor: q.cursor });
    const digests = await deps.store.findings.digests(page.items.map((i) => i.requestId));
    const health = deps.monitoring.health;
    const rows = (await Promise.all(page.items.map(async (item, i) => {
      const folded = digests[i];
      const sev = folded ? highest(folded.instances) : null;
      const h = health.configured ? await health.healthOf(team, item.image, item.digest) : null;
      return { item, sev, h, unique: folded ? SEVERITIES.reduce((n, s) => n + folded.vulns[s].length, 0) : null };
    }))).filter((r) => (!q.severity || r.sev === q.severity) && (!q.health || (q.health === 'unknown' ? r.h === null : r.h === q.health)));
    const admin = hasRole(p, 'admin');
    const body = html`${notice(q.done === 'revoked' ? 'Revoked: CI lookups and new admissions are refused, and the internal image is being deleted: a running workload whose container restarts can no longer pull it.' : undefined)}
<form method="get" action="/ui/inventory" class="filters">
  ${teamSelect(teams, team)}
  <label>Highest severity <select name="severity"><option value="">any</option>${[...SEVERITIES, 'none'].map((s) => html`<option value="${s}"${q.severity === s ? html` selected` : ''}>${s}</option>`)}</select></label>
  <label>Health <select name="health"><option value="">any</option>${['ok', 'at_risk', 'unknown'].map((s) => html`<option value="${s}"${q.health === s ? html` selected` : ''}>${s.replace('_', ' ')}</option>`)}</select></label>
  <button type="submit">Show</button>
</form>
${health.configured ? '' : html`<p class="hint">Approval health: <span class="tag state-unknown">monitoring not configured</span>; every image shows as unknown.</p>`}
<div class="table-wrap"><table><caption>Approved images of ${team}</caption>
<thead><tr><th scope="col">Image</th><th scope="col">Tags</th><th scope="col">Digest</th><th scope="col">Approved</th><th scope="col">Highest at approval</th><th scope="col" class="num">Unique CVEs</th><th scope="col">Health</th>${admin ? html`<th scope="col">Revoke</th>` : ''}</tr></thead>
<tbody>${rows.map(({ item, sev, h, unique }) => html`<tr><td><a href="/ui/requests/${item.requestId}">${item.image}</a><br><small><code>${item.internalRef}</code></small></td>
<td>${item.tags.join(', ') || '—'}</td><td><code>${shortDigest(item.digest)}</code></td><td>${timeEl(item.approvedAt)}<br><small>by ${item.approvedBy.join(', ')}</small></td>
<td>${sev ? severityBadge(sev) : html`<span class="tag state-unknown">unknown</span>`}</td><td class="num">${unique ?? '—'}</td>
<td>${h ? html`<span class="tag ${h === 'ok' ? 'state-fresh' : 'state-stale'}">${h.replace('_', ' ')}</span>` : html`<span class="tag state-unknown">unknown</span>`}</td>
${admin ? html`<td><form method="post" action="/ui/inventory/revoke" class="filters">
<input type="hidden" name="csrf" value="${ctx.csrf}"><input type="hidden" name="team" value="${team}"><input type="hidden" name="image" value="${item.image}"><input type="hidden" name="digest" value="${item.digest}">
<label>Reason <input name="reason" required maxlength="2000"></label><button type="submit" class="danger">Revoke</button></form></td>` : ''}</tr>`)}</tbody></table></div>
${page.next ? html`<p><a href="/ui/inventory${query({ team, severity: q.severity, health: q.health, cursor: page.next })}">Next page</a></p>` : ''}`;
    send(res, 'Approved images', body);
  });

  router.post('/ui/inventory/revoke', async (req, res) => {
    const { principal: p } = uiOf(res);
    if (!hasRole(p, 'admin')) throw new AppError('FORBIDDEN', 'revoking needs the admin role');
    const form = parseInput(revokeForm, req.body, 'body');
    await deps.revocations.revoke(p, { team: form.team, image: `${form.image}@${form.digest}`, reason: form.reason });
    res.redirect(303, `/ui/inventory${query({ team: form.team, done: 'revoked' })}`);
  });
}
