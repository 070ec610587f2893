/** Contracts of the unauthenticated routes: health (health.ts) and the OpenAPI document (app.ts). */
import { z } from 'zod';
import { route } from '../contract';

const dependencies = z.record(z.string(), z.enum(['ok', 'unavailable']));

export const healthContracts = [
  route({
    method: 'get', path: '/healthz', auth: 'none', summary: 'The process is up',
    responses: { 200: { description: 'up', schema: z.object({ status: z.literal('ok') }) } }, errors: [],
  }),
  route({
    method: 'get', path: '/readyz', auth: 'none', summary: 'Every dependency answers (Redis, the internal registry)',
    responses: {
      200: { description: 'ready', schema: z.object({ status: z.literal('ready'), dependencies }) },
      503: {
        description: 'DEPENDENCY_UNAVAILABLE: a dependency is down; `failing` names it',
        schema: z.object({
          status: z.literal('not ready'), failing: z.array(z.string()), dependencies,
          error: z.object({ code: z.literal('DEPENDENCY_UNAVAILABLE'), message: z.string() }),
        }),
      },
    },
    errors: [],
  }),
  route({
    method: 'get', path: '/openapi.json', auth: 'none', summary: 'This document',
    responses: { 200: { description: 'OpenAPI 3.1', schema: z.looseObject({ openapi: z.string() }) } }, errors: [],
  }),
];
