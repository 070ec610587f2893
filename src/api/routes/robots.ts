/**
 * Robot accounts (admins of the robot's team): `POST /v1/robots` answers the token once;
 * rotate, disable, enable, delete, list. Principals (admins and auditors):
 * `GET /v1/principals[?inactive=true]`; `POST /v1/principals/enable` (admins of every team).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { PrincipalService, RobotService } from '../../identity';
import { AppError } from '../../lib/errors';
import { ROLES } from '../../lib/identity/types';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { TEAM_NAME } from '../../intake/access';

const name = z.string().regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'lowercase letters, digits and . _ - between them').max(64);
export const robotBody = z.strictObject({
  name,
  team: z.string().regex(TEAM_NAME).max(100),
  roles: z.array(z.enum(ROLES)).min(1),
  /** Required: a robot never lives forever. */
  expiresInDays: z.number().int(),
});
export const rotateBody = z.strictObject({ expiresInDays: z.number().int().optional() });
export const robotId = z.strictObject({ id: z.string().regex(/^[a-f0-9]{16}$/, 'not a robot id') });
export const principalsQuery = z.strictObject({ inactive: z.enum(['true', 'false']).optional() });
export const enableBody = z.strictObject({ subject: z.string().min(1).max(500) });

export interface RobotsDeps {
  /** Unset (an API built without Redis): the routes answer 503 DEPENDENCY_UNAVAILABLE. */
  robots?: RobotService;
  principals?: PrincipalService;
}

function need<T>(service: T | undefined): T {
  if (!service) throw new AppError('DEPENDENCY_UNAVAILABLE', 'robot accounts and role hygiene are not configured on this server');
  return service;
}

export function robotsRouter(deps: RobotsDeps): Router {
  const router = Router();
  const id = (params: unknown): string => {
    const parsed = robotId.safeParse(params);
    if (!parsed.success) throw new AppError('NOT_FOUND', 'no such robot');
    return parsed.data.id;
  };

  router.post('/v1/robots', async (req, res) => {
    const body = parseInput(robotBody, req.body, 'body');
    res.status(201).json(await need(deps.robots).create(principalOf(res), body));
  });
  router.get('/v1/robots', async (_req, res) => {
    res.json({ robots: await need(deps.robots).list(principalOf(res)) });
  });
  router.post('/v1/robots/:id/rotate', async (req, res) => {
    const body = parseInput(rotateBody, req.body, 'body');
    res.json(await need(deps.robots).rotate(principalOf(res), id(req.params), body.expiresInDays));
  });
  router.post('/v1/robots/:id/disable', async (req, res) => {
    res.json(await need(deps.robots).setDisabled(principalOf(res), id(req.params), true));
  });
  router.post('/v1/robots/:id/enable', async (req, res) => {
    res.json(await need(deps.robots).setDisabled(principalOf(res), id(req.params), false));
  });
  router.delete('/v1/robots/:id', async (req, res) => {
    await need(deps.robots).delete(principalOf(res), id(req.params));
    res.status(204).end();
  });

  router.get('/v1/principals', async (req, res) => {
    const q = parseInput(principalsQuery, req.query, 'query');
    res.json({ principals: await need(deps.principals).list(principalOf(res), { inactive: q.inactive === 'true' }) });
  });
  router.post('/v1/principals/enable', async (req, res) => {
    const body = parseInput(enableBody, req.body, 'body');
    await need(deps.principals).enable(principalOf(res), body.subject);
    res.status(204).end();
  });
  return router;
}
