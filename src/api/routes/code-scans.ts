/**
 * `POST /v1/requests/{id}/code-scans`: a SARIF 2.1.0 log as the body (the v1 router gives
 * this path `server.codeScanBodyLimit` instead of the ordinary body limit and keeps its bytes,
 * see middleware/body.ts). The log is checked here, at the edge: its `codeScans.*` bounds
 * (413 `CODE_SCAN_TOO_LARGE`), then its structure (400 `INVALID_SARIF` with the JSON path); the
 * service checks role, team and state and stores it. 201 when attached, 200 with
 * `upload.alreadyAttached` when the same log (by sha256) was attached before.
 *
 * `GET /v1/requests/{id}/code-scans/{sha256}`: the original log, as it was uploaded.
 */
import { Router } from 'express';
import type { CodeScanService } from '../../intake';
import { AppError } from '../../lib/errors';
import { parseSarif } from '../../scanners/sarif/normalize';
import { rawBodyOf } from '../middleware/body';
import { principalOf } from '../middleware/auth';
import { SHA256 } from './code-scans.contract';
import { toApi } from './schemas';


function service(deps: { codeScans?: CodeScanService }): CodeScanService {
  // Fail closed when main.ts has not wired the service, rather than dropping evidence.
  if (!deps.codeScans) throw new AppError('DEPENDENCY_UNAVAILABLE', 'code-scan evidence is not configured on this server');
  return deps.codeScans;
}

export function codeScansRouter(deps: { codeScans?: CodeScanService }): Router {
  const router = Router();
  router.post('/v1/requests/:id/code-scans', async (req, res) => {
    const p = principalOf(res);
    const codeScans = service(deps);
    const scans = parseSarif(req.body, codeScans.limits);
    // The bytes as sent are what the sha256 and the stored copy are of; a caller without them
    // (none in this server) would get the digest of the parsed JSON.
    const log = rawBodyOf(req) ?? Buffer.from(JSON.stringify(req.body));
    const { request, upload } = await codeScans.attach(p, req.params.id, { scans, log });
    res.status(upload.alreadyAttached ? 200 : 201).json({ ...toApi(request), upload });
  });
  router.get('/v1/requests/:id/code-scans/:sha256', async (req, res) => {
    const p = principalOf(res);
    if (!SHA256.test(req.params.sha256)) throw new AppError('INVALID_REQUEST', 'a code-scan log is named by the lowercase hex sha256 of its upload');
    const log = await service(deps).log(p, req.params.id, req.params.sha256);
    res.status(200).type('application/sarif+json').send(log);
  });
  return router;
}
