/**
 * The OpenAPI 3.1 document, generated from the route contracts (contract.ts, routes/*.contract.ts)
 * with zod 4's JSON Schema output: request parts as the schemas accept them (`io: 'input'`),
 * responses as the service produces them (`io: 'output'`), and every error status a route can
 * answer with the codes behind it (statuses from the error table in lib/errors.ts). Nothing
 * here is written by hand; a test checks it against the routes express mounts and against what
 * the routes answer.
 */
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../lib/errors';
import { routeErrors, type RouteContract } from './contract';
import { errorBody, MODELS } from './models';

type Json = Record<string, unknown>;
const COMPONENTS = '#/components/schemas/';
/** zod writes ±Number.MAX_SAFE_INTEGER bounds on every int; they say nothing to a reader. */
const SAFE = Number.MAX_SAFE_INTEGER;

/** Drops what JSON Schema output adds that is no use inside an OpenAPI document. */
function clean(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clean);
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$schema' || k === '$id') continue;
    if ((k === 'minimum' && v === -SAFE) || (k === 'maximum' && v === SAFE)) continue;
    out[k] = clean(v);
  }
  return out;
}

/**
 * Converts many schemas at once, so that the named models are `$ref`s to one component each.
 * Returns the JSON Schema of every piece and of every model.
 */
function convert(pieces: z.ZodType[], io: 'input' | 'output'): { piece: (s: z.ZodType) => Json; models: Record<string, Json> } {
  const registry = z.registry<{ id: string }>();
  for (const [name, schema] of Object.entries(MODELS)) registry.add(schema, { id: name });
  const ids = new Map<z.ZodType, string>();
  for (const [name, schema] of Object.entries(MODELS)) ids.set(schema, name);
  for (const schema of pieces) {
    if (ids.has(schema)) continue;
    const id = `piece${ids.size}`;
    ids.set(schema, id);
    registry.add(schema, { id });
  }
  const { schemas } = z.toJSONSchema(registry, {
    io, uri: (id) => `${COMPONENTS}${id}`, unrepresentable: 'any',
    // A response object that is not strict may gain fields: do not tell clients it cannot.
    override: (ctx) => {
      const def = ctx.zodSchema._zod.def as { type: string; catchall?: unknown };
      if (io === 'output' && def.type === 'object' && def.catchall === undefined) delete ctx.jsonSchema.additionalProperties;
    },
  });
  const piece = (s: z.ZodType): Json => {
    const id = ids.get(s) as string;
    return id in MODELS ? { $ref: `${COMPONENTS}${id}` } : clean(schemas[id]) as Json;
  };
  const models = Object.fromEntries(Object.keys(MODELS).map((name) => [name, clean(schemas[name]) as Json]));
  return { piece, models };
}

/** The codes of a route grouped by their status. */
function byStatus(codes: ErrorCode[]): Map<number, [ErrorCode, ...ErrorCode[]]> {
  const out = new Map<number, [ErrorCode, ...ErrorCode[]]>();
  for (const code of codes) {
    const status = ERROR_STATUS[code];
    const list = out.get(status);
    if (list) list.push(code);
    else out.set(status, [code]);
  }
  return out;
}

function parameters(schema: Json, where: 'path' | 'query'): Json[] {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries((schema.properties as Record<string, Json> | undefined) ?? {}).map(([name, s]) => ({
    name, in: where, required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const operationId = (c: RouteContract): string => `${c.method}${c.path.replace(/[{}]/g, '').split(/[/.-]/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`;

/** The document of `contracts`, served at /openapi.json. */
export function openApiDocument(contracts: readonly RouteContract[]): Json {
  const errorBodies = new Map<RouteContract, Map<number, z.ZodType>>();
  for (const c of contracts) {
    const groups = byStatus(routeErrors(c));
    errorBodies.set(c, new Map([...groups].filter(([status]) => !c.responses[status]).map(([status, codes]) => [status, errorBody(codes)])));
  }
  const requestPieces = contracts.flatMap((c) => [c.params, c.query, c.body].filter((s): s is NonNullable<typeof s> => s !== undefined));
  const responsePieces = contracts.flatMap((c) => [
    ...Object.values(c.responses).flatMap((r) => [r.schema, ...Object.values(r.content ?? {})]).filter((s): s is z.ZodType => s !== undefined),
    ...(errorBodies.get(c) as Map<number, z.ZodType>).values(),
  ]);
  const input = convert(requestPieces, 'input');
  const output = convert(responsePieces, 'output');

  const paths: Record<string, Record<string, Json>> = {};
  for (const c of contracts) {
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(c.responses)) {
      const content: Json = {};
      if (r.schema) content['application/json'] = { schema: output.piece(r.schema) };
      for (const [type, s] of Object.entries(r.content ?? {})) content[type] = { schema: output.piece(s) };
      responses[status] = { description: r.description, ...(Object.keys(content).length ? { content } : {}) };
    }
    const codes = byStatus(routeErrors(c));
    for (const [status, schema] of errorBodies.get(c) as Map<number, z.ZodType>) {
      responses[String(status)] = { description: (codes.get(status) as ErrorCode[]).join(', '), content: { 'application/json': { schema: output.piece(schema) } } };
    }
    const params = [
      ...(c.params ? parameters(input.piece(c.params), 'path') : []),
      ...(c.query ? parameters(input.piece(c.query), 'query') : []),
    ];
    const body = c.body && {
      required: c.bodyRequired ?? true,
      content: Object.fromEntries((c.bodyMediaTypes ?? ['application/json']).map((t) => [t, { schema: input.piece(c.body as z.ZodType) }])),
    };
    (paths[c.path] ??= {})[c.method] = {
      operationId: operationId(c),
      summary: c.summary,
      ...(c.description ? { description: c.description } : {}),
      ...(c.auth === 'bearer' ? { security: [{ bearer: [] }] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(body ? { requestBody: body } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Portcullis', version: '1.0.0', description: 'Image intake and registry gatekeeper: request, scan, approve, promote by digest.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas: output.models },
    paths,
  };
}
