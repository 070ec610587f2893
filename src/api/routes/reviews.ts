/**
 * `POST /v1/approvals/keep`: decide a re-review by keeping the approval, accepting its blocking
 * findings until `until` (approver/admin of the team, not the requester; src/monitor/review.ts).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../../lib/identity/types';
import { AppError } from '../../lib/errors';
import { waiverRequestSchema } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';

export const keepBody = z.strictObject({
  team: z.string().min(1).max(100),
  image: z.string().min(1).max(512).describe('the approval\'s image name, `registry/repository`'),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a sha256 digest'),
  reason: z.string().min(1).max(2000),
  until: waiverRequestSchema.shape.expires.describe('ISO 8601 date (to the end of that day, UTC) or date-time; at most policy.waivers.maxDays ahead'),
});

export interface ReviewDecider {
  keep(p: Principal, input: z.infer<typeof keepBody>): Promise<unknown>;
}

export function reviewsRouter(deps: { reviewDecisions?: ReviewDecider }): Router {
  const router = Router();
  router.post('/v1/approvals/keep', async (req, res) => {
    const body = parseInput(keepBody, req.body, 'body');
    if (!deps.reviewDecisions) throw new AppError('DEPENDENCY_UNAVAILABLE', 'approval health is not available in this process');
    res.json({ health: await deps.reviewDecisions.keep(principalOf(res), body) });
  });
  return router;
}
