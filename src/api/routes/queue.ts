/**
 * `GET /v1/queue`: what the caller may decide, oldest first: requests awaiting approval
 * (`items`, paginated) and, on the first page, approvals to re-review (`reviews`: at-risk
 * approvals past their deadline while `monitor.autoRevoke` is off; see src/monitor/views.ts).
 */
import { Router } from 'express';
import type { RequestService } from '../../intake';
import type { Principal } from '../../lib/identity/types';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { pageQuery, toApi } from './schemas';

/** The re-reviews of approval health (src/monitor); absent: the queue has no `reviews`. */
export interface ReviewQueue {
  reviewsFor(p: Principal): Promise<unknown[]>;
}

export function queueRouter(deps: { requests: RequestService; reviews?: ReviewQueue }): Router {
  const router = Router();
  router.get('/v1/queue', async (req, res) => {
    const q = parseInput(pageQuery, req.query, 'query');
    const page = await deps.requests.queue(principalOf(res), q);
    const reviews = deps.reviews && !q.cursor ? { reviews: await deps.reviews.reviewsFor(principalOf(res)) } : {};
    res.json({ items: page.items.map(toApi), next: page.next, ...reviews });
  });
  return router;
}
