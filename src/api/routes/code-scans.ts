/**
 * `POST /v1/requests/{id}/code-scans`: a SARIF 2.1.0 log as the body (the v1 router gives
 * this path `server.codeScanBodyLimit` instead of the ordinary body limit). The log is
 * validated here, at the edge; the service checks role, team and state and stores it.
 */
import { Router } from 'express';
import type { CodeScanService } from '../../intake';
import { AppError } from '../../lib/errors';
import { parseSarif } from '../../scanners/sarif/normalize';
import { principalOf } from '../middleware/auth';
import { toApi } from './schemas';

export function codeScansRouter(deps: { codeScans?: CodeScanService }): Router {
  const router = Router();
  router.post('/v1/requests/:id/code-scans', async (req, res) => {
    const p = principalOf(res);
    // Fail closed when main.ts has not wired the service, rather than dropping evidence.
    if (!deps.codeScans) throw new AppError('DEPENDENCY_UNAVAILABLE', 'code-scan evidence is not configured on this server');
    const scans = parseSarif(req.body);
    const { request } = await deps.codeScans.attach(p, req.params.id, scans);
    res.status(201).json(toApi(request));
  });
  return router;
}
