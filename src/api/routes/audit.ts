/** `GET /v1/audit?after=&limit=`: the audit log, for auditors and admins. */
import { Router } from 'express';
import type { AuditLog } from '../../audit';
import { requireRole } from '../../intake';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { auditQuery } from './schemas';

export function auditRouter(deps: { audit: Pick<AuditLog, 'list'> }): Router {
  const router = Router();
  router.get('/v1/audit', async (req, res) => {
    requireRole(principalOf(res), ['auditor', 'admin'], 'reading the audit log');
    const q = parseInput(auditQuery, req.query, 'query');
    const items = await deps.audit.list(q.after, q.limit);
    res.json({ items, next: items.length === q.limit ? items[items.length - 1].seq : null });
  });
  return router;
}
