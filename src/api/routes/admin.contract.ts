/** Contracts of `/v1/audit` (audit.ts), `/v1/notifications` (notifications.ts), `/v1/whoami` (whoami.ts). */
import { z } from 'zod';
import { ROLES } from '../../lib/identity/types';
import { route } from '../contract';
import { AuditEntry, Delivery, page } from '../models';
import { deliveriesQuery, endpointParams } from './notifications';
import { auditQuery } from './schemas';

export const adminContracts = [
  route({
    method: 'get', path: '/v1/audit', auth: 'bearer',
    summary: "The audit log (auditor/admin), within the caller's teams; a page may hold fewer than `limit` entries while `next` is not null",
    query: auditQuery,
    responses: { 200: { description: 'entries after `after`', schema: z.object({ items: z.array(AuditEntry), next: z.number().int().nullable() }) } },
    errors: ['FORBIDDEN'],
  }),
  route({
    method: 'get', path: '/v1/notifications/deliveries', auth: 'bearer', summary: 'Webhook delivery attempts, newest first (admin/auditor, within their teams)',
    query: deliveriesQuery,
    responses: { 200: { description: 'a page', schema: page(Delivery) } },
    errors: ['FORBIDDEN'],
  }),
  route({
    method: 'post', path: '/v1/notifications/endpoints/{name}/enable', auth: 'bearer', summary: 'Deliver to an endpoint again after it answered 410 Gone (admin of every team)',
    params: endpointParams,
    responses: { 200: { description: 'enabled', schema: z.object({ endpoint: z.string(), enabled: z.boolean(), wasDisabled: z.boolean() }) } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'get', path: '/v1/whoami', auth: 'bearer', summary: 'The caller: name, roles, teams and where the identity came from (any role)',
    responses: { 200: { description: 'the caller', schema: z.object({ name: z.string(), roles: z.array(z.enum(ROLES)), teams: z.array(z.string()), source: z.string() }) } },
    errors: [],
  }),
];
