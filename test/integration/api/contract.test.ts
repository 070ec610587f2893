/**
 * Every route against its contract, on the real service: each route gets its bad inputs (no
 * token, a bad token, every role, an unknown id, another team's object, a malformed, oversized,
 * mistyped or unknown-field body or query) and every status and `error.code` it answers must be
 * documented for that route in the generated OpenAPI document; every 2xx JSON answer must parse
 * with the route's response schema.
 */
import { request } from 'node:http';
import { API_CONTRACTS } from '../../../src/api/contracts';
import type { RouteContract } from '../../../src/api/contract';
import { openApiDocument } from '../../../src/api/openapi';
import { PRINCIPALS, startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { expressRoutes } from '../../harness/routes';
import { services, uniqueName } from '../../harness/services';
import type { Express } from 'express';

type Responses = Record<string, { description: string }>;
const doc = openApiDocument(API_CONTRACTS) as { paths: Record<string, Record<string, { responses: Responses }>> };

/** node:http, not fetch: fetch refuses a body on GET, and a GET with a bad body is one of the inputs. */
function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; type?: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

interface Seen { route: string; status: number; code?: string; how: string }

describe('every route answers only what its contract documents', () => {
  const svc = services();
  let app: TestApp;
  /** Ids of real objects: a request and a robot of team payments. */
  const ids: Record<string, string> = {};
  const seen: Seen[] = [];

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { server: { codeScanBodyLimit: '64kb', bodyLimit: '16kb', rateLimitPerMinute: 0 } } });
    // The harness keeps a free port when a test sets server keys (it took the default 8080 before).
    expect(new URL(app.url).port).not.toBe('8080');
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${uniqueName('contract')}:v1`, team: 'payments', justification: 'contract test' });
    expect(created.status).toBe(202);
    ids.id = created.body.id;
    const robot = await app.call('admin', 'POST', '/v1/robots', { name: uniqueName('bot').toLowerCase(), team: 'payments', roles: ['ci'], expiresInDays: 30 });
    expect(robot.status).toBe(201);
    ids.robot = robot.body.robot.id;
  });
  afterAll(async () => { await app.stop(); });

  const url = (c: RouteContract, params: Record<string, string>): string => c.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? 'x'));
  const realParams = (): Record<string, string> => ({ id: ids.id, sha256: 'a'.repeat(64), name: 'nowhere' });
  const robotParams = (c: RouteContract): Record<string, string> => (c.path.startsWith('/v1/robots/') ? { id: ids.robot } : realParams());

  /** A body each route accepts, and who sends it, to see its 2xx (or its state checks) too. */
  const valid = (): Record<string, [Who, unknown]> => ({
    'post /v1/requests': ['dev', { image: `${svc.upstream.host}/${uniqueName('contract')}:v2`, team: 'payments', justification: 'contract test' }],
    'post /v1/requests/{id}/approve': ['approver', { comment: 'fine' }],
    'post /v1/requests/{id}/reject': ['approver', { reason: 'no' }],
    'post /v1/requests/{id}/waivers': ['approver', { findingId: 'CVE-2024-0001', reason: 'not reachable', expires: '2099-01-01' }],
    'post /v1/requests/{id}/code-scans': ['dev', { version: '2.1.0', runs: [{ tool: { driver: { name: 'semgrep' } }, results: [] }] }],
    'post /v1/approved/resolve': ['ci', { team: 'payments', images: [`${svc.upstream.host}/none:v1`] }],
    'post /v1/approvals/revoke': ['admin', { digest: `sha256:${'b'.repeat(64)}`, team: 'payments', reason: 'test' }],
    'post /v1/approvals/unrevoke': ['admin', { digest: `sha256:${'b'.repeat(64)}`, team: 'payments', reason: 'test' }],
    'post /v1/robots': ['admin', { name: uniqueName('bot2').toLowerCase(), team: 'payments', roles: ['ci'], expiresInDays: 10 }],
    'post /v1/robots/{id}/rotate': ['admin', { expiresInDays: 5 }],
    'post /v1/principals/enable': ['admin', { subject: 'tokens-file:nobody' }],
    'post /v1/exceptions': ['paymentsAdmin', { team: 'payments', digest: `sha256:${'c'.repeat(64)}`, reason: 'contract test', expires: new Date(Date.now() + 3600_000).toISOString() }],
  });

  async function send(c: RouteContract, how: string, init: { who?: Who | null; token?: string; path?: string; body?: string; type?: string; accept?: string }): Promise<void> {
    const headers: Record<string, string> = {};
    const token = init.token ?? (init.who ? tokenOf(init.who) : undefined);
    if (token) headers.authorization = `Bearer ${token}`;
    if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
    if (init.accept) headers.accept = init.accept;
    const res = await raw(`${app.url}${init.path ?? url(c, robotParams(c))}`, c.method.toUpperCase(), headers, init.body);
    const text = res.text;
    let body: unknown;
    try { body = JSON.parse(text); } catch { body = undefined; }
    const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
    seen.push({ route: `${c.method} ${c.path}`, status: res.status, ...(code ? { code } : {}), how });
    if (res.status < 300 && body !== undefined && (res.type ?? '').startsWith('application/json')) {
      const schema = c.responses[res.status]?.schema;
      const parsed = schema?.safeParse(body);
      if (parsed && !parsed.success) throw new Error(`${c.method} ${c.path} (${how}) answered ${res.status} with a body its contract does not describe: ${parsed.error.message}`);
    }
  }

  it('documents every route the running service mounts (main.ts\'s own wiring)', () => {
    // The console's HTML pages (/ui) and its vendored scripts (/ui/vendor/…, listed without the
    // mount prefix by the walker) are not part of the JSON API the document describes.
    const served = expressRoutes(app.server.listeners('request')[0] as Express).filter((r) => !/^[A-Z]+ \/(ui|vendor)(\/|$)/.test(r));
    expect(expressRoutes(app.server.listeners('request')[0] as Express)).toContain('GET /ui/overview');
    const documented = API_CONTRACTS.map((c) => `${c.method.toUpperCase()} ${c.path}`).sort();
    expect(served).toEqual(documented);
  });

  it('documents every status and code the routes answer', async () => {
    const v1 = API_CONTRACTS.filter((c) => c.auth === 'bearer');
    for (const c of API_CONTRACTS.filter((r) => r.auth === 'none')) await send(c, 'public', {});
    for (const c of v1) {
      await send(c, 'no token', { who: null });
      await send(c, 'unknown token', { token: 'not-a-token' });
      for (const who of Object.keys(PRINCIPALS) as Who[]) {
        if (who === 'limited') continue;
        await send(c, `as ${who}`, { who, ...(c.body ? { body: '{}' } : {}) });
      }
      // Another team's object, and ids that name nothing.
      await send(c, 'another team', { who: 'otherDev', ...(c.body ? { body: '{}' } : {}) });
      if (c.params) await send(c, 'bad params', { who: 'admin', path: url(c, { id: 'no-such-thing', sha256: 'NOT-HEX', name: 'Bad Name' }), ...(c.body ? { body: '{}' } : {}) });
      await send(c, 'malformed body', { who: 'admin', body: '{"unclosed": ' });
      await send(c, 'not json', { who: 'admin', body: 'plain words', type: 'text/plain' });
      await send(c, 'oversized body', { who: 'admin', body: JSON.stringify({ pad: 'x'.repeat(80 * 1024) }) });
      await send(c, 'unknown body field', { who: 'admin', body: JSON.stringify({ surely: 'unknown' }) });
      if (c.query) {
        await send(c, 'unknown query field', { who: 'admin', path: `${url(c, robotParams(c))}?surely=unknown` });
        await send(c, 'bad query value', { who: 'admin', path: `${url(c, robotParams(c))}?limit=many&team=payments` });
        await send(c, 'good query', { who: 'admin', path: `${url(c, robotParams(c))}?team=payments` });
      }
      const good = valid()[`${c.method} ${c.path}`];
      if (good) await send(c, 'a good body', { who: good[0], body: JSON.stringify(good[1]) });
      if (c.method === 'get' && c.path === '/v1/approved') await send(c, 'text client', { who: 'ci', path: `/v1/approved?team=payments&image=${svc.upstream.host}/none:v1`, accept: 'text/plain' });
    }

    if (process.env.PORTCULLIS_TEST_VERBOSE) console.log(seen.map((x) => `${x.route} ${x.how} ${x.status} ${x.code ?? ''}`).join('\n'));
    const undocumented = seen.filter((s) => {
      const [method, path] = s.route.split(' ');
      const res = doc.paths[path]?.[method]?.responses[String(s.status)];
      if (!res) return true;
      return s.status >= 400 && path !== '/readyz' && (s.code === undefined || !res.description.split(', ').includes(s.code));
    });
    // The text client's errors are one text line (no JSON code), as its contract says.
    const real = undocumented.filter((s) => s.how !== 'text client' || s.status < 400 || doc.paths['/v1/approved'].get.responses[String(s.status)] === undefined);
    expect(real.map((s) => `${s.route} (${s.how}): ${s.status} ${s.code ?? ''}`)).toEqual([]);

    // The run reached what it means to test: every kind of refusal, on every /v1 route.
    const statuses = new Set(seen.map((s) => s.status));
    for (const status of [200, 201, 202, 204, 400, 401, 403, 404, 413, 415]) expect([status, statuses.has(status)]).toEqual([status, true]);
    for (const c of v1) {
      const mine = seen.filter((s) => s.route === `${c.method} ${c.path}`);
      expect([c.path, mine.some((s) => s.code === 'UNAUTHENTICATED'), mine.some((s) => s.code === 'BODY_TOO_LARGE' || s.code === 'CODE_SCAN_TOO_LARGE')]).toEqual([c.path, true, true]);
    }
  });
});
