import type { Express } from 'express';
import { createApp } from '../../../src/api/app';
import { openApiDocument } from '../../../src/api/openapi';
import { v1Router, type V1Deps } from '../../../src/api/v1';
import { createLogger } from '../../../src/lib/logger';
import { findingSchema } from '../../../src/scanners/types';
import { REQUEST_STATUSES } from '../../../src/store/types';

interface Layer { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } }

/** Every `METHOD /path` express serves, with `:id` written `{id}` as in OpenAPI. */
function expressRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out.sort();
}

describe('OpenAPI document', () => {
  it('lists exactly the routes express serves', () => {
    const deps = { identity: { authenticate: async () => null }, limits: { bodyLimit: '1mb', codeScanBodyLimit: '20mb', rateLimitPerMinute: 0 }, rateCounters: {} } as unknown as V1Deps;
    const app = createApp({ logger: createLogger({ level: 'silent' }), readiness: [], routers: [v1Router(deps)] });
    const documented = Object.entries(openApiDocument.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(expressRoutes(app)).toEqual(documented);
    expect(documented.length).toBeGreaterThan(10);
  });

  it('is OpenAPI 3.1 with every $ref resolvable', () => {
    expect(openApiDocument.openapi).toMatch(/^3\.1\./);
    const refs = JSON.stringify(openApiDocument).match(/#\/components\/schemas\/\w+/g) ?? [];
    const schemas = Object.keys(openApiDocument.components.schemas);
    for (const r of new Set(refs)) expect(schemas).toContain(r.split('/').pop());
  });

  it('documents every field of a finding and of a request', () => {
    const { schemas } = openApiDocument.components;
    expect(Object.keys(schemas.Finding.properties).sort()).toEqual(Object.keys(findingSchema.shape).sort());
    expect(schemas.Request.properties.status.enum).toEqual([...REQUEST_STATUSES]);
    expect(Object.keys(schemas.Request.properties)).toEqual(expect.arrayContaining(['stagedDigest', 'codeScans']));
  });
});
