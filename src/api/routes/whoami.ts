/** `GET /v1/whoami`: the caller as the server sees it (name, roles, teams, identity source). Any role. */
import { Router } from 'express';
import { principalOf } from '../middleware/auth';

export function whoamiRouter(deps: { identitySource: string }): Router {
  const router = Router();
  router.get('/v1/whoami', (_req, res) => {
    const p = principalOf(res);
    // The provider that authenticated this caller (a robot, an OIDC user); the default only for
    // principals built without one.
    res.json({ name: p.name, roles: p.roles, teams: p.teams, source: p.source ?? deps.identitySource });
  });
  return router;
}
