/** Contracts of `/v1/approved` and `/v1/approvals` (approved.ts). */
import { z } from 'zod';
import { route } from '../contract';
import { ApprovedImage, InventoryItem, page } from '../models';
import { approvedQuery, resolveBody, revokeBody, unrevokeBody } from './schemas';

const revokedItem = z.object({ team: z.string(), digest: z.string(), image: z.string(), internalRef: z.string() });
const resolveResult = z.union([
  z.object({ image: z.string(), internalRef: z.string() }),
  z.object({ image: z.string(), error: z.object({ code: z.string(), message: z.string() }) }),
]);

export const approvedContracts = [
  route({
    method: 'get', path: '/v1/approved', auth: 'bearer',
    summary: "With image: the approved internal reference of an image for a team (and platform set); without: the team's approved inventory, newest first",
    description: 'With `Accept: text/plain` the answer is the bare reference (or one `ref internalRef` line per inventory item), and errors are one text line with their status.',
    query: approvedQuery,
    responses: {
      200: {
        description: 'the approval (with image) or a page of the inventory (without)',
        schema: z.union([ApprovedImage, page(InventoryItem)]),
        content: { 'text/plain': z.string() },
      },
    },
    errors: ['FORBIDDEN', 'NOT_FOUND', 'NOT_APPROVED', 'INVALID_REFERENCE'],
  }),
  route({
    method: 'post', path: '/v1/approved/resolve', auth: 'bearer', summary: "Resolve a deployment's images at once",
    body: resolveBody,
    responses: { 200: { description: 'one result per image', schema: z.object({ results: z.array(resolveResult) }) } },
    errors: ['FORBIDDEN'],
  }),
  route({
    method: 'post', path: '/v1/approvals/revoke', auth: 'bearer',
    summary: 'Revoke a digest (every name) or an image (one name) for a team: ledger first, registry delete queued, deny-list (admin)',
    body: revokeBody,
    responses: { 200: { description: 'revoked', schema: z.object({ revoked: z.array(revokedItem) }) } },
    errors: ['FORBIDDEN', 'NOT_FOUND', 'NOT_APPROVED', 'INVALID_REFERENCE'],
  }),
  route({
    method: 'post', path: '/v1/approvals/unrevoke', auth: 'bearer', summary: "Lift a revocation from the team's deny-list (admin, audited)",
    body: unrevokeBody,
    responses: { 200: { description: 'the revocation lifted', schema: z.object({ team: z.string(), digest: z.string(), image: z.string().optional(), by: z.string(), at: z.string(), reason: z.string() }) } },
    errors: ['FORBIDDEN', 'NOT_FOUND', 'INVALID_REFERENCE'],
  }),
];
