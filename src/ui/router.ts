/**
 * The console at /ui, served by the API process: security headers on everything, assets,
 * sign-in, then (session required, CSRF checked on every POST) the pages, and an error page.
 * Pages call the same services as /v1 with the session's principal, so roles, teams (another
 * team's object: 404) and four-eyes are enforced in one place for both.
 */
import express, { Router } from 'express';
import { assetsRouter } from './assets';
import { checkCsrf, loginRoutes, logoutRoute, requireSession } from './auth';
import type { ConsoleDeps } from './deps';
import { alertsRoutes } from './pages/alerts';
import { auditRoutes } from './pages/audit';
import { decideRoutes } from './pages/decide';
import { inventoryRoutes } from './pages/inventory';
import { overviewRoutes } from './pages/overview';
import { queueRoutes } from './pages/queue';
import { requestRoutes } from './pages/request';
import { searchRoutes } from './pages/search';
import { principalLimit } from './rate-limit';
import { uiErrorHandler, uiNotFound } from './render';
import { noStore, securityHeaders } from './security';

export type { ConsoleDeps } from './deps';

export function consoleRouter(deps: ConsoleDeps): Router {
  const router = Router();
  router.use('/ui', securityHeaders());
  router.use('/ui/assets', assetsRouter());
  router.use('/ui', noStore(), express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 50 }));
  router.get('/ui', (_req, res) => res.redirect(303, '/ui/overview'));
  loginRoutes(router, deps);
  for (const extra of deps.publicRoutes ?? []) router.use(extra);
  router.use('/ui', requireSession(deps), principalLimit(deps.limits), checkCsrf());
  logoutRoute(router, deps);
  overviewRoutes(router, deps);
  queueRoutes(router, deps);
  requestRoutes(router, deps);
  decideRoutes(router, deps);
  searchRoutes(router, deps);
  inventoryRoutes(router, deps);
  auditRoutes(router, deps);
  alertsRoutes(router, deps);
  router.use('/ui', uiNotFound(), uiErrorHandler());
  return router;
}
