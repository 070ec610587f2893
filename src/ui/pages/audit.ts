/**
 * The audit log for auditors and admins, within the teams they read: filtered by actor, action
 * and target, paged by sequence number, with the chain's verification status (computed at most
 * once a minute per process: it walks the whole log); exported as CSV (formula-looking cells
 * neutralised) or NDJSON with the same filters.
 */
import type { Response, Router } from 'express';
import { z } from 'zod';
import { AuditReader, type TeamScope } from '../../audit';
import type { AuditEntry } from '../../audit';
import type { TrailResult } from '../../audit';
import { readableTeams, requireRole } from '../../intake';
import { parseInput } from '../../api/middleware/validate';
import { uiOf } from '../auth';
import { AUDIT_CSV_HEADER, auditCsvRow, auditNdjsonLine } from '../csv';
import type { ConsoleDeps } from '../deps';
import { timeEl } from '../format';
import { html, query, type Html } from '../html';
import { send } from '../render';

const auditQuery = z.object({
  actor: z.string().trim().max(200).optional(),
  action: z.string().trim().max(200).optional(),
  target: z.string().trim().max(300).optional(),
  after: z.coerce.number().int().min(0).optional(),
});
type AuditQuery = z.infer<typeof auditQuery>;
const PAGE = 50;
/** Entries one page (or export) reads at most, whatever the filters keep. */
const PAGE_SCAN = 20_000;
const EXPORT_MAX = 200_000;

function matches(q: AuditQuery, e: AuditEntry): boolean {
  return (!q.actor || e.actor.toLowerCase().includes(q.actor.toLowerCase()))
    && (!q.action || e.action.startsWith(q.action))
    && (!q.target || e.target.includes(q.target));
}

/** Up to `limit` matching entries after `after`, reading at most `maxScan`; `next` continues. */
async function filtered(reader: AuditReader, scope: TeamScope, q: AuditQuery, limit: number, maxScan: number, each?: (e: AuditEntry) => void): Promise<{ items: AuditEntry[]; next: number | null }> {
  const items: AuditEntry[] = [];
  let after = q.after ?? 0;
  for (let scanned = 0; scanned < maxScan;) {
    const page = await reader.list(scope, after, 500);
    for (const e of page.items) {
      if (!matches(q, e)) continue;
      if (each) each(e); else items.push(e);
      if (!each && items.length === limit) return { items, next: e.seq };
    }
    scanned += 500;
    if (page.next === null) return { items, next: null };
    after = page.next;
  }
  return { items, next: after };
}

function chainStatus(v: TrailResult | Error | null): Html {
  if (!v) return html`<span class="tag state-unknown">not verified yet</span>`;
  if (v instanceof Error) return html`<span class="tag state-unknown">unknown: verification could not run</span>`;
  if (v.ok) return html`<span class="tag state-fresh">verified</span> ${v.count} entries, head #${v.head.seq}`;
  return html`<span class="tag state-stale">BROKEN</span> at entry #${v.seq}: ${v.reason}`;
}

export function auditRoutes(router: Router, deps: ConsoleDeps): void {
  const reader = new AuditReader(deps.audit);
  let verified: { at: number; result: TrailResult | Error } | null = null;
  const verify = async (): Promise<TrailResult | Error> => {
    const now = Date.now();
    if (verified && now - verified.at < 60_000) return verified.result;
    const result = await deps.audit.verify().catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
    verified = { at: now, result };
    return result;
  };
  const scopeOf = (res: Response): TeamScope => {
    const p = uiOf(res).principal;
    requireRole(p, ['auditor', 'admin'], 'reading the audit log');
    return readableTeams(p);
  };

  router.get('/ui/audit', async (req, res) => {
    const scope = scopeOf(res);
    const q = parseInput(auditQuery, req.query, 'query');
    const [page, chain] = await Promise.all([filtered(reader, scope, q, PAGE, PAGE_SCAN), scope === '*' ? verify() : Promise.resolve(null)]);
    const filters = { actor: q.actor, action: q.action, target: q.target };
    const body = html`
<p>Chain: ${scope === '*' ? chainStatus(chain) : html`<span class="tag state-unknown">verified by those who read every team</span>`}</p>
<form method="get" action="/ui/audit" class="filters">
  <label>Actor <input name="actor" value="${q.actor ?? ''}" maxlength="200"></label>
  <label>Action <input name="action" value="${q.action ?? ''}" maxlength="200" placeholder="request.approved"></label>
  <label>Target <input name="target" value="${q.target ?? ''}" maxlength="300" placeholder="request/…"></label>
  <button type="submit">Filter</button>
</form>
<p>Export with these filters: <a href="/ui/audit/export.csv${query(filters)}" download>CSV</a> · <a href="/ui/audit/export.ndjson${query(filters)}" download>NDJSON</a></p>
<div class="table-wrap"><table><caption>${page.items.length} entries${q.after ? ` after #${q.after}` : ''}</caption>
<thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Details</th></tr></thead>
<tbody>${page.items.map((e) => html`<tr><td class="num">${e.seq}</td><td>${timeEl(e.at)}</td><td>${e.actor}</td><td><code>${e.action}</code></td>
<td>${e.target.startsWith('request/') ? html`<a href="/ui/${e.target.replace('request/', 'requests/')}">${e.target}</a>` : e.target}</td>
<td><code class="details">${JSON.stringify(e.details).slice(0, 300)}</code></td></tr>`)}</tbody></table></div>
${page.next !== null ? html`<p><a href="/ui/audit${query({ ...filters, after: page.next })}">Next page</a></p>` : ''}`;
    send(res, 'Audit log', body);
  });

  const exporter = (kind: 'csv' | 'ndjson') => async (req: Parameters<Parameters<Router['get']>[1]>[0], res: Response): Promise<void> => {
    const scope = scopeOf(res);
    const q = parseInput(auditQuery, req.query, 'query');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    res.setHeader('Content-Type', kind === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    res.setHeader('Content-Disposition', `attachment; filename="portcullis-audit-${stamp}.${kind}"`);
    const lines: string[] = kind === 'csv' ? [AUDIT_CSV_HEADER.join(',')] : [];
    await filtered(reader, scope, q, EXPORT_MAX, EXPORT_MAX, (e) => { lines.push(kind === 'csv' ? auditCsvRow(e) : auditNdjsonLine(e)); });
    res.send(lines.join('\r\n'.slice(kind === 'csv' ? 0 : 1)) + (lines.length ? (kind === 'csv' ? '\r\n' : '\n') : ''));
  };
  router.get('/ui/audit/export.csv', exporter('csv'));
  router.get('/ui/audit/export.ndjson', exporter('ndjson'));
}
