/**
 * `GET /v1/audit?after=&limit=`: the audit log, for auditors and admins, within the teams the
 * caller reads (an admin of one team never sees another team's entries). `next` is the cursor
 * for `after`; a page may hold fewer than `limit` entries while `next` is not null.
 */
import { Router } from 'express';
import { AuditReader, type AuditLog } from '../../audit';
import { readableTeams, requireRole } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { auditQuery } from './schemas';

export function auditRouter(deps: { audit: Pick<AuditLog, 'list'> }): Router {
  const router = Router();
  const reader = new AuditReader(deps.audit);
  router.get('/v1/audit', async (req, res) => {
    const principal = principalOf(res);
    requireRole(principal, ['auditor', 'admin'], 'reading the audit log');
    const q = parseInput(auditQuery, req.query, 'query');
    res.json(await reader.list(readableTeams(principal), q.after, q.limit));
  });
  return router;
}
