/** `GET /v1/queue`: what the caller may decide, oldest first. */
import { Router } from 'express';
import type { RequestService } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { pageQuery, toApi } from './schemas';

export function queueRouter(deps: { requests: RequestService }): Router {
  const router = Router();
  router.get('/v1/queue', async (req, res) => {
    const q = parseInput(pageQuery, req.query, 'query');
    const page = await deps.requests.queue(principalOf(res), q);
    res.json({ items: page.items.map(toApi), next: page.next });
  });
  return router;
}
