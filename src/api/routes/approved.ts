/**
 * `/v1/approved`: CI's lookup (`?image=…&team=…[&platform=…]`; `Accept: text/plain` gives the
 * bare internal reference for `docker pull "$(curl -f …)"`, and errors as one text line with
 * their status, so nothing but a reference is ever printed with a 200), or without `image`
 * the team's approved inventory; `/v1/approved/resolve` (many at once);
 * `/v1/approvals/revoke` and `/v1/approvals/unrevoke` (admins).
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { ApprovedService, RevocationService } from '../../intake';
import { toAppError } from '../../lib/errors';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { approvedQuery, resolveBody, revokeBody, unrevokeBody } from './schemas';

function wantsText(req: Request): boolean {
  return req.accepts(['application/json', 'text/plain']) === 'text/plain';
}

export function approvedRouter(deps: { approved: ApprovedService; revocations: RevocationService }): Router {
  const router = Router();

  router.get('/v1/approved', async (req, res) => {
    const q = parseInput(approvedQuery, req.query, 'query');
    if (!q.image) {
      const page = await deps.approved.inventory(principalOf(res), q.team, { limit: q.limit, cursor: q.cursor, ...(q.health ? { health: q.health } : {}) });
      if (wantsText(req)) {
        res.type('text/plain').send(page.items.map((a) => `${a.image}@${a.digest} ${a.internalRef}\n`).join(''));
        return;
      }
      res.json(page);
      return;
    }
    const found = await deps.approved.lookup(principalOf(res), q.image, q.team, q.platform);
    if (wantsText(req)) {
      res.type('text/plain').send(`${found.internalRef}\n`);
      return;
    }
    res.json(found);
  });

  // A text client gets its error as text (the JSON error body would otherwise end up where an
  // image reference is expected); the status stays, so `curl -f` exits non-zero.
  router.use('/v1/approved', (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!wantsText(req) || res.headersSent) return next(err);
    const e = toAppError(err);
    if (e.status >= 500) return next(err);
    res.status(e.status).type('text/plain').send(`error ${e.code}: ${e.message}\n`);
  });

  router.post('/v1/approved/resolve', async (req, res) => {
    const body = parseInput(resolveBody, req.body, 'body');
    res.json({ results: await deps.approved.resolveMany(principalOf(res), body.team, body.images) });
  });

  router.post('/v1/approvals/revoke', async (req, res) => {
    const body = parseInput(revokeBody, req.body, 'body');
    const revoked = await deps.revocations.revoke(principalOf(res), body);
    res.json({ revoked: revoked.map((a) => ({ team: a.team, digest: a.digest, image: a.image, internalRef: a.internalRef })) });
  });

  router.post('/v1/approvals/unrevoke', async (req, res) => {
    const body = parseInput(unrevokeBody, req.body, 'body');
    res.json(await deps.revocations.unrevoke(principalOf(res), body));
  });

  return router;
}
