/**
 * The OpenAPI document is generated from the route contracts: it must list exactly the routes
 * express mounts (so a new route cannot be forgotten), resolve every $ref, and pass an
 * independent OpenAPI 3.1 validator (@seriousme/openapi-schema-validator, run as its CLI
 * because the package is ESM only).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Express } from 'express';
import { createApp } from '../../../src/api/app';
import { API_CONTRACTS } from '../../../src/api/contracts';
import { openApiDocument } from '../../../src/api/openapi';
import { v1Router, type V1Deps } from '../../../src/api/v1';
import { ERROR_STATUS } from '../../../src/lib/errors';
import { createLogger } from '../../../src/lib/logger';
import { tempDir } from '../../harness/proc';

interface Layer { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } }

/** Every `METHOD /path` express serves, with `:id` written `{id}` as in OpenAPI. */
export function expressRoutes(app: Express): string[] {
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
  return [...new Set(out)].sort();
}

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, unknown> } };
const doc = openApiDocument(API_CONTRACTS) as unknown as Doc;

describe('OpenAPI document', () => {
  it('lists exactly the routes express mounts (health, the document, every /v1 route)', () => {
    const deps = { identity: { authenticate: async () => null }, limits: { bodyLimit: '1mb', codeScanBodyLimit: '20mb', rateLimitPerMinute: 0 }, rateCounters: {} } as unknown as V1Deps;
    const app = createApp({ logger: createLogger({ level: 'silent' }), readiness: [], routers: [v1Router(deps)] });
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(expressRoutes(app)).toEqual(documented);
    expect(documented.filter((r) => r.includes(' /v1/')).length).toBeGreaterThan(20);
  });

  it('resolves every $ref to a component', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const r of new Set(refs)) expect(Object.keys(doc.components.schemas)).toContain(r.replace(/^"\$ref":"#\/components\/schemas\//, '').replace(/"$/, ''));
  });

  it('names, for every error status of a route, exactly the codes that map to it', () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, res] of Object.entries(op.responses)) {
          if (Number(status) < 400 || p === '/readyz') continue;
          const codes = res.description.split(', ');
          for (const code of codes) expect([`${method} ${p} ${code}`, ERROR_STATUS[code as keyof typeof ERROR_STATUS]]).toEqual([`${method} ${p} ${code}`, Number(status)]);
          const schema = JSON.stringify(res.content?.['application/json']?.schema);
          for (const code of codes) expect(schema).toContain(`"${code}"`);
        }
      }
    }
  });

  it('carries the zod limits and patterns into the document', () => {
    const text = JSON.stringify(doc.paths['/v1/requests'].post);
    expect(text).toContain('"maxLength":512'); // image
    expect(text).toContain('"additionalProperties":false');
    const approve = doc.paths['/v1/requests/{id}/approve'].post.responses;
    expect(Object.keys(approve)).toEqual(expect.arrayContaining(['200', '202', '400', '401', '403', '404', '409', '429', '503']));
  });

  it('passes an independent OpenAPI 3.1 validator', () => {
    const file = path.join(tempDir('openapi'), 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const cli = path.resolve(__dirname, '../../../node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
    let out = '';
    try {
      out = execFileSync(process.execPath, [cli, file], { encoding: 'utf8' });
    } catch (err) {
      throw new Error(`the document does not validate: ${(err as { stdout?: string }).stdout ?? String(err)}`);
    }
    expect(JSON.parse(out)).toMatchObject({ valid: true });
  });
});
