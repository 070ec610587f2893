/**
 * `GET /v1/audit?after=&limit=`: the audit log, for auditors and admins, within the teams the
 * caller reads (an admin of one team never sees another team's entries). `next` is the cursor
 * for `after`; a page may hold fewer than `limit` entries while `next` is not null.
 */
import { Router } from 'express';
import { AuditQueryService, requireRole, type AuditLog } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { auditQuery } from './schemas';

export function auditRouter(deps: { audit: Pick<AuditLog, 'list'> }): Router {
  const router = Router();
  const audit = new AuditQueryService(deps.audit);
  router.get('/v1/audit', async (req, res) => {
    const principal = principalOf(res);
    // The role before the query: a caller who may not read the log learns nothing of its parameters.
    requireRole(principal, ['auditor', 'admin'], 'reading the audit log');
    const q = parseInput(auditQuery, req.query, 'query');
    res.json(await audit.list(principal, q.after, q.limit));
  });
  return router;
}
