/** Contract of `/v1/snapshots` (snapshots.ts). */
import { z } from 'zod';
import { route } from '../contract';
import { Snapshot } from '../models';
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
];
