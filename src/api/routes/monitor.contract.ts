/** Contracts of the monitoring routes (monitor.ts): SBOMs and scanner data status. */
import { z } from 'zod';
import { route } from '../contract';

export const sbomParams = z.strictObject({ digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be a sha256 digest') });

const scannerStatus = z.object({
  name: z.string(),
  type: z.string(),
  dbVersion: z.string().nullable(),
  dataChangedAt: z.string().nullable(),
  ageSeconds: z.number().nullable(),
  sync: z.object({ scheduled: z.boolean(), every: z.string().nullable(), lastSyncAt: z.string().nullable(), status: z.enum(['never', 'ok', 'failed']), error: z.string().nullable() }),
});

export const monitorContracts = [
  route({
    method: 'get', path: '/v1/images/{digest}/sbom', auth: 'bearer',
    summary: 'The CycloneDX 1.6 SBOM of a scanned digest (readers of a team with a request or approval for it; others 404)',
    params: sbomParams,
    responses: { 200: { description: 'the SBOM', content: { 'application/vnd.cyclonedx+json': z.object({ bomFormat: z.literal('CycloneDX'), specVersion: z.string() }).loose() } } },
    errors: ['NOT_FOUND', 'DEPENDENCY_UNAVAILABLE'],
  }),
  route({
    method: 'get', path: '/v1/scanners', auth: 'bearer',
    summary: 'Each scanner with its vulnerability data version, last sync, age and sync status (any authenticated reader)',
    responses: { 200: { description: 'the scanners', schema: z.object({ items: z.array(scannerStatus) }) } },
    errors: ['DEPENDENCY_UNAVAILABLE'],
  }),
];
