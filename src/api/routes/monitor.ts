/**
 * Monitoring routes of the inventory workstream: `GET /v1/images/{digest}/sbom` (the kept
 * CycloneDX SBOM, `application/vnd.cyclonedx+json`) and `GET /v1/scanners` (each scanner's data
 * version, last sync and its age). Without the monitor wiring they answer 503.
 */
import { Router } from 'express';
import { AppError } from '../../lib/errors';
import type { Principal } from '../../lib/identity/types';
import { principalOf } from '../middleware/auth';
import { sbomParams } from './monitor.contract';

export interface MonitorApi {
  sbom: { get(p: Principal, digest: string): Promise<Buffer> };
  scanners: { list(): Promise<unknown[]> };
}

function unavailable(): AppError {
  return new AppError('DEPENDENCY_UNAVAILABLE', 'monitoring is not wired in this process');
}

export function monitorRouter(deps: { inventory?: MonitorApi }): Router {
  const router = Router();

  router.get('/v1/images/:digest/sbom', async (req, res) => {
    const parsed = sbomParams.safeParse({ digest: req.params.digest });
    if (!parsed.success) throw new AppError('INVALID_REQUEST', `digest: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { details: { field: 'digest' } });
    const { digest } = parsed.data;
    if (!deps.inventory) throw unavailable();
    const body = await deps.inventory.sbom.get(principalOf(res), digest);
    res.status(200).type('application/vnd.cyclonedx+json').send(body);
  });

  router.get('/v1/scanners', async (_req, res) => {
    principalOf(res);
    if (!deps.inventory) throw unavailable();
    res.json({ items: await deps.inventory.scanners.list() });
  });

  return router;
}
