/**
 * `GET /v1/notifications/deliveries` (admins and auditors, within their teams) and
 * `POST /v1/notifications/endpoints/{name}/enable` (an admin of every team).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { NotificationService } from '../../intake/notifications';
import { AppError } from '../../lib/errors';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';

export const deliveriesQuery = z.strictObject({
  endpoint: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().regex(/^\d{1,20}-\d{1,20}$/, 'a cursor from a previous page').optional(),
});

/** Endpoint names are checked by the service (an unknown one answers 404). */
export const endpointParams = z.strictObject({ name: z.string() });

export function notificationsRouter(deps: { notifications?: NotificationService }): Router {
  const router = Router();
  const service = (): NotificationService => {
    if (!deps.notifications) throw new AppError('DEPENDENCY_UNAVAILABLE', 'webhook notifications are not configured on this server');
    return deps.notifications;
  };
  router.get('/v1/notifications/deliveries', async (req, res) => {
    const q = parseInput(deliveriesQuery, req.query, 'query');
    res.json(await service().deliveries(principalOf(res), q));
  });
  router.post('/v1/notifications/endpoints/:name/enable', async (req, res) => {
    const wasDisabled = await service().enable(principalOf(res), req.params.name);
    res.json({ endpoint: req.params.name, enabled: true, wasDisabled });
  });
  return router;
}
