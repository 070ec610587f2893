/** Contracts of `/v1/requests` (requests.ts), `/v1/queue` (queue.ts) and waivers (waivers.ts). */
import { z } from 'zod';
import { waiverRequestSchema } from '../../intake';
import { route } from '../contract';
import { page, Request } from '../models';
import { approveBody, createRequestBody, listRequestsQuery, pageQuery, rejectBody } from './schemas';

/** A request id; an unknown one (or another team's) answers 404. */
export const requestParams = z.strictObject({ id: z.string().describe('the request id') });
const decided = ['FORBIDDEN', 'FOUR_EYES', 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'] as const;

export const requestsContracts = [
  route({
    method: 'post', path: '/v1/requests', auth: 'bearer', summary: 'Request an external image for a team (developer)',
    body: createRequestBody,
    responses: {
      202: { description: 'accepted (or an in-flight request for the same image: header X-Portcullis-Deduplicated)', schema: Request },
      200: { description: 'the digest is already approved', schema: Request },
    },
    errors: ['FORBIDDEN', 'INVALID_REFERENCE', 'UPSTREAM_NOT_ALLOWED', 'REVOKED', 'NOT_FOUND'],
  }),
  route({
    method: 'get', path: '/v1/requests', auth: 'bearer', summary: "List requests of the caller's teams, newest first (scan summaries, no findings)",
    query: listRequestsQuery,
    responses: { 200: { description: 'a page', schema: page(Request) } },
    errors: ['FORBIDDEN'],
  }),
  route({
    method: 'get', path: '/v1/requests/{id}', auth: 'bearer', summary: 'One request, with its findings',
    params: requestParams,
    responses: { 200: { description: 'the request', schema: Request } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'post', path: '/v1/requests/{id}/approve', auth: 'bearer', summary: 'Approve (approver/admin, not the requester)',
    description: 'The policy verdict is evaluated again with the current waivers and code scans; a failing one answers 409 WAIVERS_REQUIRED with `error.details.blocking` (finding ids to waive).',
    params: requestParams, body: approveBody, bodyRequired: false,
    responses: {
      202: { description: 'promotion queued', schema: Request },
      200: { description: 'recorded; more approvers needed', schema: Request },
    },
    errors: [...decided, 'WAIVERS_REQUIRED'],
  }),
  route({
    method: 'post', path: '/v1/requests/{id}/reject', auth: 'bearer', summary: 'Reject (approver/admin, not the requester)',
    params: requestParams, body: rejectBody,
    responses: { 200: { description: 'rejected', schema: Request } },
    errors: decided,
  }),
  route({
    method: 'post', path: '/v1/requests/{id}/waivers', auth: 'bearer',
    summary: 'Waive one finding until an expiry (approver/admin of the team, not the requester: 403 FOUR_EYES); the verdict is evaluated again',
    params: requestParams, body: waiverRequestSchema,
    responses: { 201: { description: 'granted; the request with its new verdict', schema: Request } },
    errors: ['FORBIDDEN', 'FOUR_EYES', 'NOT_FOUND', 'INVALID_STATE'],
  }),
  route({
    method: 'get', path: '/v1/queue', auth: 'bearer', summary: 'Requests awaiting approval that the caller may decide, oldest first',
    query: pageQuery,
    responses: { 200: { description: 'a page', schema: page(Request) } },
    errors: ['FORBIDDEN'],
  }),
];
