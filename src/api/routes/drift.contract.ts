/** Contract of `/v1/drift` (drift.ts). */
import { z } from 'zod';
import { route } from '../contract';
import { driftQuery } from './drift';

const DriftEntry = z.object({
  id: z.string(),
  team: z.string(),
  image: z.string().describe('`registry/repository` of the approved image'),
  tag: z.string(),
  platforms: z.array(z.string()),
  fromDigest: z.string().describe('the upstream digest that was approved'),
  toDigest: z.string().describe('the digest the tag names upstream now'),
  digest: z.string().describe('the approved (internal) digest'),
  approvedRequestId: z.string(),
  at: z.string().describe('when the move was seen (ISO 8601)'),
  requestId: z.string().optional().describe('the request filed for the new digest (`monitor.autoRequest`)'),
});

export const driftContracts = [
  route({
    method: 'get', path: '/v1/drift', auth: 'bearer',
    summary: 'Approved tags seen moved upstream, newest first: the approved and the new upstream digest, when, and the request filed for it',
    description: 'Readers of the team; without `team`, every team the caller reads (auditors and members of `*`: all). One entry per move (the same moved tag seen by every drift run is one entry until it moves again); kept `monitor.driftHistoryDays`, at most 1,000 per team.',
    query: driftQuery,
    responses: { 200: { description: 'the moves', schema: z.object({ items: z.array(DriftEntry) }) } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
];
