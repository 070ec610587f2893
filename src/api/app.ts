/**
 * The express application: request context and logging, JSON body limits, health routes,
 * the OpenAPI document, the v1 routers, and the error handler last. Body parsing and auth
 * are applied by the v1 router to /v1 only. It receives every
 * collaborator from main.ts; it constructs none.
 */
import express, { type Express, type Router } from 'express';
import type { Logger } from '../lib/logger';
import { errorHandler, notFound } from './middleware/errors';
import { requestContext } from './middleware/request-context';
import { API_CONTRACTS } from './contracts';
import { openApiDocument } from './openapi';
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
  const document = openApiDocument(API_CONTRACTS);
  app.get('/openapi.json', (_req, res) => { res.json(document); });
  for (const router of deps.routers ?? []) app.use(router);
  app.use(notFound());
  app.use(errorHandler());
  return app;
}
