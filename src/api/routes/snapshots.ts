/**
 * `GET /v1/snapshots?team=&days=`: the daily snapshots of approval health per team
 * (src/monitor/snapshots.ts), oldest first, for the console's trends. Readers of the team;
 * without `team`, every team the caller reads (auditors and `*` members: all).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Principal } from '../../lib/identity/types';
import { AppError } from '../../lib/errors';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';

export const snapshotsQuery = z.strictObject({
  team: z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'a team name').max(100).optional(),
  days: z.coerce.number().int().min(1).max(3650).default(30),
});

/** Reads snapshots (the monitor's SnapshotService). */
export interface SnapshotReader {
  read(p: Principal, q: { team?: string; days: number }): Promise<unknown[]>;
}

export function snapshotsRouter(deps: { snapshots?: SnapshotReader }): Router {
  const router = Router();
  router.get('/v1/snapshots', async (req, res) => {
    const q = parseInput(snapshotsQuery, req.query, 'query');
    if (!deps.snapshots) throw new AppError('DEPENDENCY_UNAVAILABLE', 'snapshots are not available in this process');
    res.json({ items: await deps.snapshots.read(principalOf(res), q) });
  });
  return router;
}
