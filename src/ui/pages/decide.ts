/**
 * The decision forms of the request page: waive, approve, reject. Each parses the form, calls
 * the same service as the API (roles, team, four-eyes and the policy are checked there), then
 * redirects to the request page (post/redirect/get). A refusal re-renders the request page with
 * the service's status and the error in words (FOUR_EYES, WAIVERS_REQUIRED…).
 */
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { parseInput } from '../../api/middleware/validate';
import { AppError, toAppError } from '../../lib/errors';
import { uiOf } from '../auth';
import type { ConsoleDeps } from '../deps';
import { shownError } from '../messages';
import { endOfDay } from '../tz';
import { renderRequest } from './request';

const text = z.string().trim().min(1, 'is required').max(2000);
const approveForm = z.object({ comment: text });
const rejectForm = z.object({ reason: text });
const waiveForm = z.object({ findingId: z.string().trim().min(1).max(200), reason: text, until: z.string().max(10), tz: z.string().max(64).default('UTC') });

async function decide(deps: ConsoleDeps, req: Request, res: Response, act: () => Promise<string>): Promise<void> {
  const id = String(req.params.id);
  try {
    const done = await act();
    res.redirect(303, `/ui/requests/${encodeURIComponent(id)}?done=${done}`);
  } catch (err) {
    const e = toAppError(err);
    // Not found stays a plain 404 page (another team's request looks like no request), and a 5xx goes to the error handler.
    if (e.status >= 500 || e.code === 'NOT_FOUND') throw e;
    await renderRequest(deps, res, id, {}, shownError(e), e.status);
  }
}

export function decideRoutes(router: Router, deps: ConsoleDeps): void {
  router.post('/ui/requests/:id/approve', (req, res) => decide(deps, req, res, async () => {
    const { comment } = parseInput(approveForm, req.body, 'body');
    const { request, promoting } = await deps.decisions.approve(uiOf(res).principal, req.params.id, comment);
    return promoting || request.status !== 'awaiting_approval' ? 'approved' : 'approval_recorded';
  }));

  router.post('/ui/requests/:id/reject', (req, res) => decide(deps, req, res, async () => {
    const { reason } = parseInput(rejectForm, req.body, 'body');
    await deps.decisions.reject(uiOf(res).principal, req.params.id, reason);
    return 'rejected';
  }));

  router.post('/ui/requests/:id/waive', (req, res) => decide(deps, req, res, async () => {
    const form = parseInput(waiveForm, req.body, 'body');
    if (!form.until) throw new AppError('INVALID_REQUEST', 'body.until: an expiry date is required');
    const expires = endOfDay(form.until, form.tz);
    await deps.waivers.grant(uiOf(res).principal, req.params.id, { findingId: form.findingId, reason: form.reason, expires });
    return 'waived';
  }));
}
