/**
 * `/v1/requests`: create, list, read, approve, reject. Parse, identify the caller, call the
 * service, respond; the services enforce roles, teams and four-eyes.
 */
import { Router } from 'express';
import type { DecisionService, RequestService } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { approveBody, createRequestBody, listRequestsQuery, rejectBody, toApi } from './schemas';

export function requestsRouter(deps: { requests: RequestService; decisions: DecisionService }): Router {
  const router = Router();

  router.post('/v1/requests', async (req, res) => {
    const body = parseInput(createRequestBody, req.body, 'body');
    const { request, deduplicated } = await deps.requests.create(principalOf(res), body);
    if (deduplicated) res.setHeader('X-Portcullis-Deduplicated', deduplicated);
    res.status(deduplicated === 'approved' ? 200 : 202).json(toApi(request));
  });

  router.get('/v1/requests', async (req, res) => {
    const q = parseInput(listRequestsQuery, req.query, 'query');
    const page = await deps.requests.list(principalOf(res), q);
    res.json({ items: page.items.map(toApi), next: page.next });
  });

  router.get('/v1/requests/:id', async (req, res) => {
    res.json(toApi(await deps.requests.get(principalOf(res), req.params.id)));
  });

  router.post('/v1/requests/:id/approve', async (req, res) => {
    const { comment } = parseInput(approveBody, req.body, 'body');
    const { request, promoting } = await deps.decisions.approve(principalOf(res), req.params.id, comment);
    res.status(promoting ? 202 : 200).json(toApi(request));
  });

  router.post('/v1/requests/:id/reject', async (req, res) => {
    const { reason } = parseInput(rejectBody, req.body, 'body');
    res.json(toApi(await deps.decisions.reject(principalOf(res), req.params.id, reason)));
  });

  return router;
}
