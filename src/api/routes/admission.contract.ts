/**
 * Contracts of the admission routes (admission.ts): the namespace → team map, break-glass
 * exceptions and the workloads of a digest. The request schemas here are the ones the routes parse with.
 */
import { z } from 'zod';
import { route } from '../contract';

const time = z.string().describe('ISO 8601 date-time');
const team = z.string().min(1).max(100);
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const exceptionBody = z.strictObject({
  team,
  image: z.string().min(1).max(512).optional().describe('a reference: a tag excepts that tag (none: `latest`, as Docker reads it); a digest, that digest under that name'),
  digest: z.string().min(1).max(200).optional().describe('`sha256:…`: that digest under any name'),
  namespace: z.string().regex(NAMESPACE, 'a namespace name').optional().describe('only this namespace of the team'),
  reason: z.string().trim().min(1).max(1000),
  expires: z.string().min(1).max(40).describe('ISO 8601, in the future (EXPIRES_IN_PAST), at most 24 h ahead (EXPIRES_TOO_LATE)'),
}).refine((b) => (b.image === undefined) !== (b.digest === undefined), { message: 'give exactly one of image and digest', path: ['image'] });

export const exceptionsQuery = z.strictObject({ team: team.optional() });
export const revokeExceptionQuery = z.strictObject({ reason: z.string().trim().min(1).max(1000).optional() });
export const workloadsQuery = z.strictObject({ team: team.optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) });

/** A new schema per use: a schema that is one route's whole answer and part of another's would become a dangling `$ref`. */
const exception = () => z.object({
  id: z.string(), team: z.string(), image: z.string().optional().describe('registry/repository'), tag: z.string().optional(), digest: z.string().optional(),
  namespace: z.string().optional(), reason: z.string(), expires: time, by: z.string(), at: time,
  active: z.boolean().describe('not yet expired, by the server clock'),
}).describe('A break-glass exception.');

const Workload = z.object({
  team: z.string(), namespace: z.string(),
  kind: z.string().describe("a Pod's controlling owner (ReplicaSet → Deployment), else the admitted kind"), name: z.string(),
  image: z.string(), lastSeen: time.describe('its last admission with the digest'),
});

export const admissionContracts = [
  route({
    method: 'get', path: '/v1/namespaces', auth: 'bearer',
    summary: "The namespace → team map the admission webhooks enforce: entries of the caller's teams (all for auditors and `*`), and the exempt namespaces",
    responses: {
      200: {
        description: 'the map',
        schema: z.object({ namespaces: z.array(z.object({ namespace: z.string(), team: z.string(), pattern: z.boolean() })), exempt: z.array(z.string()) }),
      },
    },
    errors: [],
  }),
  route({
    method: 'post', path: '/v1/exceptions', auth: 'bearer',
    summary: "Grant a break-glass exception (admin of the team): the webhooks admit the image in the team's namespaces until `expires`, at most 24 h ahead, with a warning; audited, event `exception.granted`",
    body: exceptionBody,
    responses: { 201: { description: 'granted', schema: exception() } },
    errors: ['FORBIDDEN', 'EXPIRES_IN_PAST', 'EXPIRES_TOO_LATE', 'INVALID_REFERENCE'],
  }),
  route({
    method: 'get', path: '/v1/exceptions', auth: 'bearer',
    summary: 'Break-glass exceptions of a team (or of every team the caller reads), newest first; expired ones with `active: false` for a day',
    query: exceptionsQuery,
    responses: { 200: { description: 'the exceptions', schema: z.object({ items: z.array(exception()) }) } },
    errors: ['NOT_FOUND'],
  }),
  route({
    method: 'delete', path: '/v1/exceptions/{id}', auth: 'bearer',
    summary: 'End a break-glass exception before its expiry (admin of its team); audited, event `exception.revoked`',
    params: z.object({ id: z.string() }),
    query: revokeExceptionQuery,
    responses: { 200: { description: 'revoked', schema: exception() } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'get', path: '/v1/images/{digest}/workloads', auth: 'bearer',
    summary: "Where a digest runs: the workloads admitted with it within `webhook.ledger.retentionDays`, one entry each with its last admission, most recent first (the caller's teams)",
    params: z.object({ digest: z.string().describe('`sha256:…`') }),
    query: workloadsQuery,
    responses: { 200: { description: 'the workloads', schema: z.object({ digest: z.string(), workloads: z.array(Workload) }) } },
    errors: ['NOT_FOUND'],
  }),
];
