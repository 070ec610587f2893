/**
 * `POST /v1/requests/{id}/waivers`: an approver or admin of the team (not the requester)
 * accepts one finding until an expiry. The body is validated with the policy module's
 * waiver schema (through intake); the service checks role, team, four-eyes and state.
 */
import { Router } from 'express';
import { waiverRequestSchema, type WaiverService } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { toApi } from './schemas';

export function waiversRouter(deps: { waivers: WaiverService }): Router {
  const router = Router();
  router.post('/v1/requests/:id/waivers', async (req, res) => {
    const body = parseInput(waiverRequestSchema, req.body, 'body');
    const request = await deps.waivers.grant(principalOf(res), req.params.id, body);
    res.status(201).json(toApi(request));
  });
  return router;
}
