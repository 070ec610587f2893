/**
 * `/v1/approved` (CI's lookup; `Accept: text/plain` gives the bare internal reference for
 * `docker pull "$(curl …)"`), `/v1/approved/resolve` (many at once) and
 * `/v1/approvals/revoke` (admins).
 */
import { Router } from 'express';
import type { ApprovedService } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { approvedQuery, resolveBody, revokeBody } from './schemas';

export function approvedRouter(deps: { approved: ApprovedService }): Router {
  const router = Router();

  router.get('/v1/approved', async (req, res) => {
    const q = parseInput(approvedQuery, req.query, 'query');
    const found = await deps.approved.lookup(principalOf(res), q.image, q.team);
    if (req.accepts(['application/json', 'text/plain']) === 'text/plain') {
      res.type('text/plain').send(`${found.internalRef}\n`);
      return;
    }
    res.json(found);
  });

  router.post('/v1/approved/resolve', async (req, res) => {
    const body = parseInput(resolveBody, req.body, 'body');
    res.json({ results: await deps.approved.resolveMany(principalOf(res), body.team, body.images) });
  });

  router.post('/v1/approvals/revoke', async (req, res) => {
    const body = parseInput(revokeBody, req.body, 'body');
    const revoked = await deps.approved.revoke(principalOf(res), body);
    res.json({ revoked: revoked.map((a) => ({ team: a.team, digest: a.digest, image: a.image, internalRef: a.internalRef })) });
  });

  return router;
}
