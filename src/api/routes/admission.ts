/**
 * Admission, as the API shows it (issue 16): `GET /v1/namespaces` (the namespace → team map the
 * webhooks enforce), break-glass exceptions (`POST`/`GET /v1/exceptions`, `DELETE
 * /v1/exceptions/{id}`, admins of the team) and `GET /v1/images/{digest}/workloads` (where a
 * digest was admitted). Without the admission services wired the routes answer 503.
 */
import { Router } from 'express';
import type { AdmissionDirectory, ExceptionService } from '../../admission';
import { AppError } from '../../lib/errors';
import { principalOf } from '../middleware/auth';
import { parseInput } from '../middleware/validate';
import { exceptionBody, exceptionsQuery, revokeExceptionQuery, workloadsQuery } from './admission.contract';

export interface AdmissionApi {
  exceptions: ExceptionService;
  directory: AdmissionDirectory;
}

export function admissionRouter(deps: { admission?: AdmissionApi }): Router {
  const router = Router();
  const api = (): AdmissionApi => {
    if (!deps.admission) throw new AppError('DEPENDENCY_UNAVAILABLE', 'admission is not configured in this process');
    return deps.admission;
  };

  router.get('/v1/namespaces', (_req, res) => {
    res.json(api().directory.namespaces(principalOf(res)));
  });

  router.post('/v1/exceptions', async (req, res) => {
    const body = parseInput(exceptionBody, req.body, 'body');
    res.status(201).json(await api().exceptions.grant(principalOf(res), body));
  });

  router.get('/v1/exceptions', async (req, res) => {
    const q = parseInput(exceptionsQuery, req.query, 'query');
    res.json({ items: await api().exceptions.list(principalOf(res), q.team) });
  });

  router.delete('/v1/exceptions/:id', async (req, res) => {
    const q = parseInput(revokeExceptionQuery, req.query, 'query');
    res.json(await api().exceptions.revoke(principalOf(res), req.params.id, q.reason));
  });

  router.get('/v1/images/:digest/workloads', async (req, res) => {
    const q = parseInput(workloadsQuery, req.query, 'query');
    res.json(await api().directory.workloads(principalOf(res), req.params.digest, q));
  });

  return router;
}
