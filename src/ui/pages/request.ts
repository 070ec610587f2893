/**
 * The request page: what was asked and by whom, digests and pull command, decisions and waivers,
 * the timeline, code-scan evidence per tool, the findings (see findings-table.ts), the change
 * since the last approval of the same repository, and the decision forms for those who may
 * decide. The service answers 404 for another team's request, so this page does too.
 */
import type { Router } from 'express';
import { isMember, hasRole } from '../../intake';
import { parseInput } from '../../api/middleware/validate';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';
import { SEVERITIES } from '../../scanners/types';
import type { IntakeRequest } from '../../store/types';
import { uiOf } from '../auth';
import type { ConsoleDeps } from '../deps';
import { diffFindings, previousApproval, type FindingsDiff } from '../diff';
import { severityBadge, shortDigest, statusBadge, timeEl } from '../format';
import { html, type Html } from '../html';
import { errorBox, notice } from '../layout';
import type { ShownError } from '../messages';
import { send } from '../render';
import { findingsQuery, findingsSection, type FindingsQuery } from './findings-table';

const DONE: Record<string, string> = {
  approved: 'Approved. Promotion into the approved repository runs now; the pull command appears when it is done.',
  approval_recorded: 'Your approval is recorded; another approver is still needed.',
  rejected: 'Rejected.',
  waived: 'Waiver granted; the verdict was evaluated again.',
};

function decisionForms(r: IntakeRequest, p: Principal, csrf: string): Html {
  if (r.status !== 'awaiting_approval' || !hasRole(p, 'approver', 'admin') || !isMember(p, r.team)) return html``;
  const own = r.requestedBy === p.name;
  const blocking = r.policy?.blocking ?? [];
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  return html`<section aria-labelledby="decide-h" class="card">
<h2 id="decide-h">Decide</h2>
${own ? html`<p class="hint">You made this request: under the four-eyes rule someone else must decide on it.</p>` : ''}
${blocking.length ? html`<h3>Waive a blocking finding</h3>
<form method="post" action="/ui/requests/${r.id}/waive" class="stack">
  <input type="hidden" name="csrf" value="${csrf}">
  <input type="hidden" name="tz" value="UTC" data-timezone>
  <label for="w-finding">Finding</label>
  <select id="w-finding" name="findingId">${blocking.map((b) => html`<option value="${b}">${b}</option>`)}</select>
  <label for="w-reason">Reason</label>
  <input id="w-reason" name="reason" required maxlength="2000">
  <label for="w-until">Expires at the end of</label>
  <input id="w-until" name="until" type="date" required min="${new Date().toISOString().slice(0, 10)}" value="${tomorrow}">
  <p class="hint" data-timezone-label>The waiver ends at 23:59:59 of that day, UTC.</p>
  <button type="submit">Waive</button>
</form>` : ''}
<div class="decide">
<form method="post" action="/ui/requests/${r.id}/approve" class="stack">
  <input type="hidden" name="csrf" value="${csrf}">
  <label for="a-comment">Approval comment</label>
  <input id="a-comment" name="comment" required maxlength="2000">
  <button type="submit" class="primary">Approve</button>
</form>
<form method="post" action="/ui/requests/${r.id}/reject" class="stack">
  <input type="hidden" name="csrf" value="${csrf}">
  <label for="r-reason">Rejection reason</label>
  <input id="r-reason" name="reason" required maxlength="2000">
  <button type="submit" class="danger">Reject</button>
</form>
</div></section>`;
}

function overview(r: IntakeRequest, sbom: boolean): Html {
  return html`<dl class="facts">
<dt>Status</dt><dd>${statusBadge(r.status)}</dd>
<dt>Image</dt><dd><code>${r.image}</code></dd>
<dt>Team</dt><dd>${r.team}</dd>
<dt>Requested by</dt><dd>${r.requestedBy}, ${timeEl(r.createdAt)}</dd>
<dt>Justification</dt><dd>${r.justification || '—'}</dd>
<dt>Upstream digest</dt><dd><code class="digest">${r.source.digest ?? '—'}</code></dd>
${r.stagedDigest && r.stagedDigest !== r.source.digest ? html`<dt>Staged digest</dt><dd><code class="digest">${r.stagedDigest}</code></dd>` : ''}
<dt>Platforms</dt><dd>${r.platforms.length ? r.platforms.join(', ') : 'all'}</dd>
${r.internalRef ? html`<dt>Pull command</dt><dd><code class="pull">docker pull ${r.internalRef}</code></dd>` : ''}
${r.policy ? html`<dt>Policy</dt><dd>${r.policy.verdict}${r.policy.reasons.length ? html`: ${r.policy.reasons.join('; ')}` : ''}</dd>` : ''}
${r.error ? html`<dt>Error</dt><dd><code>${r.error.code}</code> ${r.error.message}</dd>` : ''}
${r.revocation ? html`<dt>Revoked</dt><dd>by ${r.revocation.by}, ${timeEl(r.revocation.at)}: ${r.revocation.reason}</dd>` : ''}
${sbom && (r.stagedDigest ?? r.source.digest) ? html`<dt>SBOM</dt><dd><a href="/ui/images/${r.stagedDigest ?? r.source.digest}/sbom" download>CycloneDX JSON</a></dd>` : ''}
</dl>`;
}

function scansSection(r: IntakeRequest): Html {
  return html`<section aria-labelledby="scans-h"><h2 id="scans-h">Scans</h2>
<div class="table-wrap"><table><thead><tr><th scope="col">Scanner</th><th scope="col">Status</th><th scope="col">Data version</th><th scope="col">Finished</th>
${SEVERITIES.map((s) => html`<th scope="col" class="num">${s}</th>`)}</tr></thead>
<tbody>${r.scans.map((s) => html`<tr><td>${s.scanner}</td><td>${s.status}${s.error ? html` <code>${s.error.code}</code>` : ''}</td><td>${s.dbVersion ?? '—'}</td>
<td>${timeEl(s.finishedAt)}</td>${SEVERITIES.map((k) => html`<td class="num">${s.summary[k]}</td>`)}</tr>`)}</tbody></table></div>
<h3>Code-scan evidence</h3>
${r.codeScans.length === 0 ? html`<p class="empty">No code-scan (SARIF) evidence uploaded.</p>` : r.codeScans.map((c) => html`
<details><summary><strong>${c.tool}</strong>${c.toolVersion ? ` ${c.toolVersion}` : ''}: ${c.findingsTotal} findings, uploaded by ${c.uploadedBy} ${timeEl(c.uploadedAt)}${c.grouped ? ' (grouped by rule)' : ''}</summary>
<ul class="evidence">${c.findings.slice(0, 100).map((f) => html`<li>${severityBadge(f.severity)} <span class="fid">${f.id}</span> ${f.title}${f.path ? html` <code>${f.path}</code>` : ''}</li>`)}</ul></details>`)}
</section>`;
}

function diffSection(d: { diff: FindingsDiff; digest: string; at: string; requestId: string } | null): Html {
  if (!d) return html``;
  const list = (fs: FindingsDiff['added']): Html => fs.length ? html`<ul>${fs.slice(0, 200).map((f) => html`<li>${severityBadge(f.severity)} <span class="fid">${f.id}</span> ${f.package ?? ''}</li>`)}</ul>` : html`<p class="empty">none</p>`;
  return html`<section aria-labelledby="diff-h"><h2 id="diff-h">Since the last approval of this repository</h2>
<p>Compared with <a href="/ui/requests/${d.requestId}"><code>${shortDigest(d.digest)}</code></a>, approved ${timeEl(d.at)}.</p>
<div class="two"><div><h3>New (${d.diff.added.length})</h3>${list(d.diff.added)}</div><div><h3>Fixed (${d.diff.fixed.length})</h3>${list(d.diff.fixed)}</div></div></section>`;
}

function historySection(r: IntakeRequest): Html {
  const now = Date.now();
  return html`<section aria-labelledby="hist-h"><h2 id="hist-h">Decisions, waivers and timeline</h2>
<h3>Decisions</h3>${r.decisions.length ? html`<ul>${r.decisions.map((d) => html`<li><strong>${d.decision}</strong> by ${d.by}, ${timeEl(d.at)}: ${d.comment}</li>`)}</ul>` : html`<p class="empty">None yet.</p>`}
<h3>Waivers</h3>${r.waivers.length ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Finding</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">By</th></tr></thead>
<tbody>${r.waivers.map((w) => html`<tr><td class="fid">${w.findingId}</td><td>${w.reason}</td><td>${timeEl(w.expires)}${Date.parse(w.expires) <= now ? html` <span class="tag tag-blocking">expired</span>` : ''}</td><td>${w.by}</td></tr>`)}</tbody></table></div>` : html`<p class="empty">None.</p>`}
<h3>Timeline</h3><ol class="timeline">${r.history.map((h) => html`<li>${timeEl(h.at)} ${statusBadge(h.status)} by ${h.by}${h.note ? html`: ${h.note}` : ''}</li>`)}</ol></section>`;
}

/** Renders the request page (also after a refused decision, with the error in words). */
export async function renderRequest(deps: ConsoleDeps, res: Parameters<typeof send>[0], id: string, q: FindingsQuery, error?: ShownError, status = 200): Promise<void> {
  const { principal: p, ctx } = uiOf(res);
  const r = await deps.requests.get(p, id);
  const digest = r.stagedDigest ?? r.source.digest;
  const prev = await previousApproval(deps.store.approvals, r.team, `${r.source.registry}/${r.source.repository}`, digest);
  const before = prev ? await deps.requests.get(p, prev.requestId).catch(() => null) : null;
  const diff = prev && before ? { diff: diffFindings(r.scans.flatMap((s) => s.findings), before.scans.flatMap((s) => s.findings)), digest: prev.digest, at: prev.approvedAt, requestId: prev.requestId } : null;
  const sbom = Boolean(deps.monitoring.sbom && digest);
  const body = html`${errorBox(error)}${notice(q.done ? DONE[q.done] : undefined)}
<p class="crumbs"><a href="/ui/queue">Queue</a> › request <code>${r.id}</code></p>
${overview(r, sbom)}${decisionForms(r, p, ctx.csrf)}${diffSection(diff)}${findingsSection(r, q)}${scansSection(r)}${historySection(r)}`;
  send(res, `Request: ${r.image}`, body, status);
}

export function requestRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/requests/:id', async (req, res) => {
    await renderRequest(deps, res, req.params.id, parseInput(findingsQuery, req.query, 'query'));
  });

  // The SBOM download, read with the session's rights (the /v1 route takes a bearer token, which a browser session has not).
  router.get('/ui/images/:digest/sbom', async (req, res) => {
    const sbom = deps.monitoring.sbom;
    const digest = String(req.params.digest);
    if (!sbom || !/^sha256:[a-f0-9]{64}$/.test(digest)) throw new AppError('NOT_FOUND', 'no SBOM for this digest');
    const body = await sbom.get(uiOf(res).principal, digest);
    if (!body) throw new AppError('NOT_FOUND', 'no SBOM for this digest');
    res.setHeader('Content-Disposition', `attachment; filename="${digest.replace(':', '-')}.cdx.json"`);
    res.type('application/vnd.cyclonedx+json').send(body);
  });
}
