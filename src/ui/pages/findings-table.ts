/**
 * The findings table of the request page: filtered by severity, package, fixable and kind and
 * sorted on the server (links and a GET form: it works without JavaScript; htmx swaps only the
 * table when it is there). Waived and blocking findings are marked.
 */
import { z } from 'zod';
import { FINDING_KINDS, SEVERITIES, type Finding } from '../../scanners/types';
import type { IntakeRequest } from '../../store/types';
import { severityBadge } from '../format';
import { html, query, type Html } from '../html';

export const findingsQuery = z.object({
  severity: z.enum(SEVERITIES).optional().or(z.literal('')),
  package: z.string().max(200).optional(),
  fixable: z.enum(['yes', 'no', '']).optional(),
  kind: z.enum(FINDING_KINDS).optional().or(z.literal('')),
  sort: z.enum(['severity', 'id', 'package', 'fixed', 'scanner']).optional(),
  dir: z.enum(['asc', 'desc']).optional(),
  done: z.string().max(40).optional(),
});
export type FindingsQuery = z.infer<typeof findingsQuery>;

const MAX_ROWS = 500;
const rank = (s: string): number => SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);

export interface Row { f: Finding; scanner: string }

export function filterFindings(r: IntakeRequest, q: FindingsQuery): Row[] {
  const rows = r.scans.flatMap((s) => s.findings.map((f) => ({ f, scanner: s.scanner })));
  const pkg = q.package?.trim().toLowerCase();
  const out = rows.filter(({ f }) => (!q.severity || f.severity === q.severity) && (!q.kind || f.kind === q.kind)
    && (!pkg || (f.package ?? '').toLowerCase().includes(pkg))
    && (!q.fixable || (q.fixable === 'yes') === Boolean(f.fixedVersion)));
  const sort = q.sort ?? 'severity';
  const dir = q.dir === 'desc' ? -1 : 1;
  const key = (row: Row): string | number => sort === 'severity' ? rank(row.f.severity) : sort === 'id' ? row.f.id
    : sort === 'package' ? (row.f.package ?? '') : sort === 'fixed' ? (row.f.fixedVersion ? 0 : 1) : row.scanner;
  return out.sort((a, b) => {
    const x = key(a); const y = key(b);
    return (x < y ? -1 : x > y ? 1 : a.f.id.localeCompare(b.f.id)) * dir;
  });
}

function sortLink(id: string, q: FindingsQuery, col: NonNullable<FindingsQuery['sort']>, label: string): Html {
  const current = (q.sort ?? 'severity') === col;
  const dir = current && q.dir !== 'desc' ? 'desc' : 'asc';
  const aria = current ? (q.dir === 'desc' ? 'descending' : 'ascending') : 'none';
  return html`<th scope="col" aria-sort="${aria}"><a href="/ui/requests/${id}${query({ ...q, done: undefined, sort: col, dir })}#findings">${label}${current ? (q.dir === 'desc' ? ' ▼' : ' ▲') : ''}</a></th>`;
}

export function findingsSection(r: IntakeRequest, q: FindingsQuery): Html {
  const rows = filterFindings(r, q);
  const blocking = new Set(r.policy?.blocking ?? []);
  const now = Date.now();
  const waived = new Set(r.waivers.filter((w) => Date.parse(w.expires) > now).map((w) => w.findingId));
  const total = r.scans.reduce((n, s) => n + s.findings.length, 0);
  const opt = (v: string, cur: string | undefined, label = v): Html => html`<option value="${v}"${cur === v ? html` selected` : ''}>${label}</option>`;
  return html`<section id="findings" aria-labelledby="findings-h">
<h2 id="findings-h">Findings</h2>
<form method="get" action="/ui/requests/${r.id}#findings" class="filters" hx-get="/ui/requests/${r.id}" hx-trigger="change, submit" hx-target="#findings" hx-select="#findings" hx-swap="outerHTML" hx-push-url="true">
  <label>Severity <select name="severity">${opt('', q.severity || '', 'any')}${SEVERITIES.map((s) => opt(s, q.severity || ''))}</select></label>
  <label>Package <input name="package" value="${q.package ?? ''}" maxlength="200"></label>
  <label>Fixable <select name="fixable">${opt('', q.fixable || '', 'any')}${opt('yes', q.fixable || '')}${opt('no', q.fixable || '')}</select></label>
  <label>Kind <select name="kind">${opt('', q.kind || '', 'any')}${FINDING_KINDS.map((k) => opt(k, q.kind || ''))}</select></label>
  ${q.sort ? html`<input type="hidden" name="sort" value="${q.sort}"><input type="hidden" name="dir" value="${q.dir ?? 'asc'}">` : ''}
  <button type="submit">Filter</button>
</form>
<div class="table-wrap"><table class="findings">
<caption>${rows.length} of ${total} findings${rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} shown)` : ''}</caption>
<thead><tr>${sortLink(r.id, q, 'severity', 'Severity')}${sortLink(r.id, q, 'id', 'Finding')}<th scope="col">Kind</th>${sortLink(r.id, q, 'package', 'Package')}
<th scope="col">Installed</th>${sortLink(r.id, q, 'fixed', 'Fixed in')}${sortLink(r.id, q, 'scanner', 'Scanner')}<th scope="col">Status</th></tr></thead>
<tbody>${rows.slice(0, MAX_ROWS).map(({ f, scanner }) => {
    const isWaived = waived.has(f.id) || f.aliases.some((a) => waived.has(a));
    const isBlocking = blocking.has(f.id);
    return html`<tr${isBlocking ? html` class="blocking"` : ''}><td>${severityBadge(f.severity)}</td>
<td><span class="fid">${f.id}</span>${f.title ? html`<br><small>${f.title}</small>` : ''}</td><td>${f.kind}</td><td>${f.package ?? '—'}</td>
<td>${f.installedVersion ?? '—'}</td><td>${f.fixedVersion ?? '—'}</td><td>${scanner}</td>
<td>${isWaived ? html`<span class="tag tag-waived">waived</span>` : isBlocking ? html`<span class="tag tag-blocking">blocking</span>` : ''}</td></tr>`;
  })}</tbody></table></div>
</section>`;
}
