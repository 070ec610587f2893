/**
 * The express application: request context and logging, JSON body limits, health routes,
 * the v1 routers, the OpenAPI document, and the error handler last. It receives every
 * collaborator from main.ts; it constructs none.
 */
import express, { type Express, type Router } from 'express';
import type { Logger } from '../lib/logger';
import { errorHandler, notFound } from './middleware/errors';
import { requestContext } from './middleware/request-context';
import { healthRouter, type ReadinessCheck } from './routes/health';

export interface AppDeps {
  logger: Logger;
  readiness: ReadinessCheck[];
  /** Routers mounted after the health routes, in order. */
  routers?: Router[];
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(deps.logger));
  app.use(healthRouter(deps.readiness));
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFound());
  app.use(errorHandler());
  return app;
}
