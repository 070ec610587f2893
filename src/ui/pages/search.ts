/**
 * CVE and package search across every image the signed-in person may see, quarantined and
 * approved: "where is CVE-2021-44228 / log4j-core?". A query of MIN_PREFIX characters or more
 * also finds by prefix ("log4j" finds log4j-core and log4j-api, "CVE-2021-442" finds
 * CVE-2021-44228), over the first MAX_TERMS matching terms in alphabetical order that have a hit
 * the person may see (the page says when there may be more; at most TERM_BUDGET terms are
 * looked at); a shorter one is an exact match. The finding index answers with each
 * hit's team, so hits of teams the person cannot read are dropped before any request is read;
 * the shown page's requests are then read through the request service (which checks the team
 * again) for their current status.
 */
import type { Router } from 'express';
import { z } from 'zod';
import { canRead, requireRole } from '../../intake';
import { parseInput } from '../../api/middleware/validate';
import type { FindingHit, PrefixResult } from '../../store';
import { uiOf } from '../auth';
import type { ConsoleDeps } from '../deps';
import { severityBadge, shortDigest, statusBadge } from '../format';
import { html, query } from '../html';
import { send } from '../render';

const searchQuery = z.object({
  q: z.string().trim().max(200).optional(),
  status: z.enum(['any', 'approved', 'quarantined']).optional(),
  page: z.coerce.number().int().min(1).max(1000).optional(),
});
const PAGE = 50;
/** Shorter queries match exactly: a one- or two-letter prefix names too many terms to be useful. */
export const MIN_PREFIX = 3;
/** Terms read for one prefix query: bounds the work of a query like "cve-". */
export const MAX_TERMS = 20;
/** Terms looked at for one query, visible or not (another team's terms are skipped, not shown). */
export const TERM_BUDGET = 200;
/** No further term is read once a prefix query has found this many requests (the page shows 50 at a time). */
export const MAX_HITS = 1000;
const QUARANTINED = new Set(['awaiting_approval', 'rejected', 'failed', 'scanning', 'staging', 'promoting']);

export function searchRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/search', async (req, res) => {
    const { principal: p } = uiOf(res);
    requireRole(p, ['developer', 'approver', 'auditor', 'admin'], 'searching findings');
    const q = parseInput(searchQuery, req.query, 'query');
    const term = q.q ?? '';
    const found: PrefixResult = !term ? { hits: [], terms: [], more: false }
      : term.length >= MIN_PREFIX ? await deps.store.findings.searchPrefix(term, { maxTerms: MAX_TERMS, maxHits: MAX_HITS, budget: TERM_BUDGET, visible: (team) => canRead(p, team) })
        : { hits: await deps.store.findings.search(term), terms: [term.toLowerCase()], more: false };
    const hits: FindingHit[] = found.hits.filter((h) => canRead(p, h.team));
    hits.sort((a, b) => a.team.localeCompare(b.team) || a.image.localeCompare(b.image) || a.requestId.localeCompare(b.requestId));
    const pageNo = q.page ?? 1;
    // Status comes from the request itself (it moves); a request deleted since it was indexed drops out.
    const rows = (await Promise.all(hits.slice((pageNo - 1) * PAGE, pageNo * PAGE).map(async (h) => {
      const r = await deps.requests.get(p, h.requestId).catch(() => null);
      return r ? { h, status: r.status, internalRef: r.internalRef } : null;
    }))).filter((x): x is NonNullable<typeof x> => x !== null)
      .filter((x) => !q.status || q.status === 'any' || (q.status === 'approved' ? x.status === 'approved' : QUARANTINED.has(x.status)));
    const teams = new Set(hits.map((h) => h.team));
    const body = html`
<form method="get" action="/ui/search" class="filters" role="search">
  <label>CVE, advisory id or package <input name="q" value="${term}" maxlength="200" placeholder="CVE-2021-44228 or log4j-core" autofocus></label>
  <label>Where <select name="status">
    <option value="any"${!q.status || q.status === 'any' ? html` selected` : ''}>quarantined and approved</option>
    <option value="approved"${q.status === 'approved' ? html` selected` : ''}>approved only</option>
    <option value="quarantined"${q.status === 'quarantined' ? html` selected` : ''}>not approved</option></select></label>
  <button type="submit">Search</button>
</form>
${term ? html`<p>${found.more ? 'At least ' : ''}${hits.length} request${hits.length === 1 ? '' : 's'} in ${teams.size} team${teams.size === 1 ? '' : 's'} contain <strong>${term}</strong> (${term.length >= MIN_PREFIX ? 'an id, alias or package name starting with it' : 'exact id, alias or package name'}).</p>
${found.terms.length > 1 || (found.terms.length === 1 && found.terms[0] !== term.toLowerCase()) ? html`<p class="hint">Matched ${found.terms.length} term${found.terms.length === 1 ? '' : 's'}: ${found.terms.map((t, i) => html`${i ? ', ' : ''}<code>${t}</code>`)}${found.more ? '…' : ''}</p>` : ''}
${found.more ? html`<p class="alert more" role="status">More ids and packages may start with <strong>${term}</strong>: only the first ${found.terms.length} in alphabetical order were searched (at most ${MAX_TERMS}, or until ${MAX_HITS} requests were found). Type more of it to narrow the search.</p>` : ''}
${rows.length ? html`<div class="table-wrap"><table><caption>Images containing ${term}</caption>
<thead><tr><th scope="col">Image</th><th scope="col">Team</th><th scope="col">Status</th><th scope="col">Digest</th><th scope="col">Matching findings</th></tr></thead>
<tbody>${rows.map(({ h, status, internalRef }) => html`<tr><td><a href="/ui/requests/${h.requestId}">${h.image}</a>${internalRef ? html`<br><small><code>${internalRef}</code></small>` : ''}</td>
<td>${h.team}</td><td>${statusBadge(status)}</td><td><code>${shortDigest(h.digest)}</code></td>
<td><ul class="plain">${h.matches.slice(0, 20).map((m) => html`<li>${severityBadge(m.severity)} <span class="fid">${m.id}</span> ${m.package ?? ''} ${m.installedVersion ?? ''}${m.fixedVersion ? html` → fixed in ${m.fixedVersion}` : ''}</li>`)}</ul></td></tr>`)}</tbody></table></div>`
    : html`<p class="empty">No image you may see contains it${q.status && q.status !== 'any' ? ' with that status' : ''}.</p>`}
${hits.length > pageNo * PAGE ? html`<p><a href="/ui/search${query({ q: term, status: q.status, page: pageNo + 1 })}">Next page</a></p>` : ''}` : html`<p class="hint">Searches every image your teams requested, quarantined or approved.</p>`}`;
    send(res, 'CVE & package search', body);
  });
}
