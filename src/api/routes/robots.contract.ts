/** Contracts of robot accounts and principals (robots.ts). */
import { z } from 'zod';
import { route } from '../contract';
import { Principal, Robot } from '../models';
import { enableBody, principalsQuery, robotBody, robotId, rotateBody } from './robots';

const issued = { description: 'the robot and its new token, shown this once', schema: z.object({ robot: Robot, token: z.string() }) };
const robotOnly = { 200: { description: 'the robot', schema: Robot } };

export const robotsContracts = [
  route({
    method: 'get', path: '/v1/robots', auth: 'bearer', summary: "Robot accounts of the caller's teams (admin)",
    responses: { 200: { description: 'robots', schema: z.object({ robots: z.array(Robot) }) } },
    errors: ['FORBIDDEN'],
  }),
  route({
    method: 'post', path: '/v1/robots', auth: 'bearer', summary: 'Create a robot account; its token is in the answer only (admin of the team)',
    body: robotBody, responses: { 201: issued }, errors: ['FORBIDDEN', 'CONFLICT'],
  }),
  route({
    method: 'delete', path: '/v1/robots/{id}', auth: 'bearer', summary: 'Delete a robot account',
    params: robotId, responses: { 204: { description: 'deleted' } }, errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'post', path: '/v1/robots/{id}/rotate', auth: 'bearer', summary: 'A new token; the previous one works auth.robots.overlapHours more; the lifetime restarts',
    params: robotId, body: rotateBody, bodyRequired: false, responses: { 200: issued }, errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'post', path: '/v1/robots/{id}/disable', auth: 'bearer', summary: 'Disable a robot account',
    params: robotId, responses: robotOnly, errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'post', path: '/v1/robots/{id}/enable', auth: 'bearer', summary: 'Enable a robot account again',
    params: robotId, responses: robotOnly, errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'get', path: '/v1/principals', auth: 'bearer', summary: 'Known principals and when each was last seen (admin, auditor)',
    query: principalsQuery, responses: { 200: { description: 'principals', schema: z.object({ principals: z.array(Principal) }) } }, errors: ['FORBIDDEN'],
  }),
  route({
    method: 'post', path: '/v1/principals/enable', auth: 'bearer', summary: 'Enable a principal disabled for inactivity (admin of every team)',
    body: enableBody, responses: { 204: { description: 'enabled' } }, errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
];
