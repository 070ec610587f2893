/**
 * `GET /v1/drift?team=&limit=`: approved tags seen moved upstream (src/monitor/drift-history.ts),
 * newest first, with the approved and the new upstream digest and the request filed for it.
 * Readers of the team; without `team`, every team the caller reads; another team: 404.
 */
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';

export const driftQuery = z.strictObject({
  team: z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'a team name').max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Reads the drift history with the caller's rights (the monitor's DriftHistoryService). */
export interface DriftReader {
  read(p: Principal, q: { team?: string; limit: number }): Promise<unknown[]>;
}

export function driftRouter(deps: { drift?: DriftReader }): Router {
  const router = Router();
  router.get('/v1/drift', async (req, res) => {
    const q = parseInput(driftQuery, req.query, 'query');
    if (!deps.drift) throw new AppError('DEPENDENCY_UNAVAILABLE', 'the drift history is not available in this process');
    res.json({ items: await deps.drift.read(principalOf(res), q) });
  });
  return router;
}
