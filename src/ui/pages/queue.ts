/**
 * The approval queue: requests the signed-in approver may decide, oldest first; flagged ones
 * (policy fail or warn) marked; each row's findings summary, and for a repository approved
 * before, how its findings changed since (new / fixed). "Assigned to me" keeps the teams the
 * person is a named member of (an admin of every team sees all by default).
 */
import type { Router } from 'express';
import { z } from 'zod';
import { requireRole } from '../../intake';
import { parseInput } from '../../api/middleware/validate';
import type { RequestSummary } from '../../store/types';
import { uiOf } from '../auth';
import type { ConsoleDeps } from '../deps';
import { diffFindings, previousApproval } from '../diff';
import { addSummaries, age, highest, severityBadge, shortDigest, summaryCells, timeEl } from '../format';
import { html, query, type Html } from '../html';
import { send } from '../render';

const queueQuery = z.object({ mine: z.enum(['1']).optional(), cursor: z.string().max(200).optional() });

interface Row {
  r: RequestSummary;
  diff?: { added: number; fixed: number; since: string; digest: string };
}

function flag(r: RequestSummary): Html {
  const v = r.policy?.verdict;
  if (v === 'fail') return html`<span class="flag flag-fail" title="policy failed">flagged: ${r.policy?.blocking?.length ?? 0} blocking</span>`;
  if (v === 'warn') return html`<span class="flag flag-warn">warning</span>`;
  return html`<span class="flag flag-pass">policy passed</span>`;
}

export function queueRoutes(router: Router, deps: ConsoleDeps): void {
  router.get('/ui/queue', async (req, res) => {
    const { principal: p } = uiOf(res);
    requireRole(p, ['approver', 'admin'], 'the approval queue');
    const q = parseInput(queueQuery, req.query, 'query');
    const page = await deps.requests.queue(p, { limit: 25, cursor: q.cursor });
    const items = q.mine ? page.items.filter((r) => p.teams.includes(r.team)) : page.items;
    const cache = new Map();
    const rows: Row[] = await Promise.all(items.map(async (r): Promise<Row> => {
      const image = `${r.source.registry}/${r.source.repository}`;
      const digest = r.stagedDigest ?? r.source.digest;
      const prev = await previousApproval(deps.store.approvals, r.team, image, digest, cache);
      if (!prev) return { r };
      const [now, before] = await Promise.all([deps.requests.get(p, r.id), deps.requests.get(p, prev.requestId).catch(() => null)]);
      if (!before) return { r };
      const d = diffFindings(now.scans.flatMap((s) => s.findings), before.scans.flatMap((s) => s.findings));
      return { r, diff: { added: d.added.length, fixed: d.fixed.length, since: prev.approvedAt, digest: prev.digest } };
    }));
    const body = html`
<p class="lead">Requests you may decide, oldest first. You never see your own requests here (four-eyes).</p>
<p class="tabs"><a href="/ui/queue"${q.mine ? '' : html` aria-current="true"`}>All I can decide</a>
  <a href="/ui/queue?mine=1"${q.mine ? html` aria-current="true"` : ''}>Assigned to me (my named teams)</a></p>
${rows.length === 0 ? html`<p class="empty">Nothing is waiting for you.</p>` : html`
<div class="table-wrap"><table class="queue">
<caption>${rows.length} request${rows.length === 1 ? '' : 's'} awaiting approval</caption>
<thead><tr><th scope="col">Waiting</th><th scope="col">Image</th><th scope="col">Team, requested by</th><th scope="col">Policy, highest</th>
<th scope="col" class="num"><abbr title="critical">Crit</abbr></th><th scope="col" class="num">High</th><th scope="col" class="num"><abbr title="medium">Med</abbr></th><th scope="col" class="num">Low</th><th scope="col" class="num"><abbr title="unknown">Unk</abbr></th>
<th scope="col">Since last approval</th></tr></thead>
<tbody>${rows.map(({ r, diff }) => {
      const sum = addSummaries(r.scans.map((s) => s.summary));
      return html`<tr${r.policy?.verdict === 'fail' ? html` class="flagged"` : ''}>
<td>${age(r.createdAt)}</td>
<td><a href="/ui/requests/${r.id}">${r.image}</a><br><small><code>${shortDigest(r.stagedDigest ?? r.source.digest)}</code></small></td>
<td>${r.team}<br><small>${r.requestedBy}, ${timeEl(r.createdAt)}</small></td><td>${flag(r)}<br>${severityBadge(highest(sum))}</td>${summaryCells(sum)}
<td>${diff ? html`<span class="added">+${diff.added} new</span> / <span class="fixed">−${diff.fixed} fixed</span><br><small>vs <code>${shortDigest(diff.digest)}</code> approved ${timeEl(diff.since)}</small>` : html`<small>first of this repository</small>`}</td>
</tr>`;
    })}</tbody></table></div>`}
${page.next ? html`<p><a href="/ui/queue${query({ mine: q.mine, cursor: page.next })}">Next page</a></p>` : ''}`;
    send(res, 'Approval queue', body);
  });
}
