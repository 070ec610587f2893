/** Contract of `/v1/snapshots` (snapshots.ts). */
import { z } from 'zod';
import { route } from '../contract';
import { Health, Snapshot } from '../models';
import { keepBody } from './reviews';
import { snapshotsQuery } from './snapshots';

export const snapshotsContracts = [
  route({
    method: 'get', path: '/v1/snapshots', auth: 'bearer',
    summary: 'Daily snapshots per team, oldest first: requests by state, unique CVEs and instances by severity over approved images, at-risk approvals, mean time to decision',
    description: 'Readers of the team; without `team`, every team the caller reads (auditors and members of `*`: all). Written once per team and UTC day, kept `monitor.snapshots.retentionDays`.',
    query: snapshotsQuery,
    responses: { 200: { description: 'the snapshots', schema: z.object({ items: z.array(Snapshot) }) } },
    errors: ['FORBIDDEN', 'NOT_FOUND'],
  }),
  route({
    method: 'post', path: '/v1/approvals/keep', auth: 'bearer',
    summary: 'Decide a re-review by keeping an at-risk approval: its blocking findings are accepted until `until` (approver/admin of the team, not the requester)',
    description: 'Audited (`approval.review_kept`); the approval is re-evaluated at once (`approval.ok`) and blocks again when the acceptance expires. To revoke instead: POST /v1/approvals/revoke (admin).',
    body: keepBody,
    responses: { 200: { description: 'the approval\'s health after the decision', schema: z.object({ health: Health.passthrough() }) } },
    errors: ['FORBIDDEN', 'FOUR_EYES', 'NOT_FOUND', 'INVALID_STATE', 'CONFLICT'],
  }),
];
