/**
 * Starts Portcullis in-process, with main.ts's own wiring, against the harness services: a
 * free port, a unique Redis prefix, a temp tokens file with one principal per role. Tests
 * call the API with `call(who, method, path, body)`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Server } from 'node:http';
import type Redis from 'ioredis';
import YAML from 'yaml';
import { buildServices, startApi, startWorker, type ServiceOptions, type Services } from '../../src/main';
import { parseConfig, type Config } from '../../src/lib/config';
import { createLogger } from '../../src/lib/logger';
import { createRedis } from '../../src/lib/redis';
import { sha256Hex } from '../../src/lib/identity/tokens-file';
import { freePort, tempDir } from './proc';
import { services, uniqueName } from './services';

/** One principal per role; the token of each is `token-<name>`. */
export const PRINCIPALS = {
  dev: { roles: ['developer'], teams: ['payments'] },
  devApprover: { roles: ['developer', 'approver'], teams: ['payments'] },
  otherDev: { roles: ['developer'], teams: ['logistics'] },
  approver: { roles: ['approver'], teams: ['payments'] },
  approver2: { roles: ['approver'], teams: ['*'] },
  ci: { roles: ['ci'], teams: ['payments'] },
  auditor: { roles: ['auditor'], teams: [] },
  admin: { roles: ['admin'], teams: ['*'] },
  /** An admin of one team only (audit entries of other teams stay hidden from it). */
  paymentsAdmin: { roles: ['admin'], teams: ['payments'] },
  /** Used only by rate-limit tests, so that its window starts at their first call. */
  limited: { roles: ['developer'], teams: ['limits'] },
} as const;
export type Who = keyof typeof PRINCIPALS;

export const tokenOf = (who: Who): string => `token-${who}`;

export interface TestApp {
  url: string;
  /** The API's HTTP server, as main.ts's startApi built it. */
  server: Server;
  config: Config;
  redis: Redis;
  services: Services;
  /** The config file written for this app (for a worker process, `portcullis audit`). */
  configFile: string;
  call(who: Who | null, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  /** Polls the request until `done` says so (each poll is a GET by an auditor). */
  waitForStatus(id: string, statuses: string[]): Promise<any>;
  stop(): Promise<void>;
}

export interface TestAppOptions extends ServiceOptions {
  /** Start the in-process worker. @defaultValue true */
  worker?: boolean;
  /** Endpoint of the upstream (default: the harness nginx). */
  upstreamEndpoint?: string;
  /** Overlaid on the generated config. */
  config?: Record<string, unknown>;
}

/**
 * A fetch that failed because its connection was reset or closed under it (undici nests the
 * socket error). Not `instanceof TypeError`: fetch's errors come from Node's realm, not jest's.
 */
function connectionReset(err: unknown): boolean {
  if ((err as Error | undefined)?.name !== 'TypeError') return false;
  for (let cause: unknown = (err as Error).cause, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    const { code, message } = cause as { code?: string; message?: string };
    if (['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'].includes(code ?? '') || /ECONNRESET|other side closed/.test(message ?? '')) return true;
  }
  return false;
}

export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const svc = services();
  const dir = tempDir('app');
  const tokensFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokensFile, YAML.stringify({
    principals: Object.entries(PRINCIPALS).map(([name, p]) => ({ name, roles: [...p.roles], teams: [...p.teams], tokenSha256: sha256Hex(tokenOf(name as Who)) })),
  }));
  const raw = {
    // A generous command deadline: the test machine's cores are shared, and a busy event loop
    // must not turn a slow reply into a 503 (the fault tests use the default, on the built service).
    redis: { url: svc.redis.url, prefix: uniqueName('app'), commandTimeoutMs: 10_000 },
    internalRegistry: { url: svc.internal.url },
    upstreams: [{ registry: svc.upstream.host, endpoint: options.upstreamEndpoint ?? svc.proxy.url }],
    worker: { lockDurationMs: 5000, stalledIntervalMs: 1000, stepLeaseMs: 3000 },
    log: { level: process.env.PORTCULLIS_TEST_LOG ?? 'silent' },
    // Scanners come in-process through `options.scanners`; the written config file (used by
    // worker processes and the CLI) must not point at the default OSV folder, which tests lack.
    scanners: [],
    ...options.config,
    // A test's server keys (limits) are merged, not instead of the free port: without it the API
    // took the default 8080, which two such tests, or a local `npm run stack`, already hold.
    server: { host: '127.0.0.1', port: await freePort(), ...(options.config?.server as Record<string, unknown> | undefined) },
    // auth keys of a test (oidc, workloads…) are added to the generated tokens file, not instead of it.
    auth: { tokensFile, ...(options.config?.auth as Record<string, unknown> | undefined) },
  };
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, YAML.stringify(raw));
  const config = parseConfig(raw);
  const logger = createLogger({ level: config.log.level });
  // main.ts's `store` connection for the API and stores; the worker makes its own.
  const redis = createRedis(config.redis, 'store', logger);
  const built = buildServices(config, logger, redis, options);
  const api = await startApi(config, logger, redis, built, built.auth.provider, options.monitoring);
  let worker: ReturnType<typeof startWorker> | undefined;
  if (options.worker !== false) worker = startWorker(config, logger, built);
  const url = `http://127.0.0.1:${api.port}`;

  const call: TestApp['call'] = async (who, method, p, body, headers = {}) => {
    const send = () => fetch(`${url}${p}`, {
      method,
      headers: { ...(who ? { authorization: `Bearer ${tokenOf(who)}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    // HTTP/1.1 keep-alive race (RFC 9112 9.3.1): the server closed an idle connection just as
    // this request went out on it (read ECONNRESET). This process hosts the server: when a busy
    // step stalls its event loop past the server's keep-alive timeout (5 s), the next poll meets
    // the reset. A client retries an idempotent request on a new connection; a request that may
    // have changed something is never sent twice.
    let res: Response | undefined;
    for (let attempt = 1; !res; attempt++) {
      try {
        res = await send();
      } catch (err) {
        if ((method !== 'GET' && method !== 'HEAD') || !connectionReset(err) || attempt >= 3) throw err;
      }
    }
    const text = await res.text();
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* text/plain */ }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };

  return {
    url, server: api.server, config, redis, services: built, configFile, call,
    async waitForStatus(id, statuses) {
      for (let i = 0; i < 1200; i++) {
        const r = await call('auditor', 'GET', `/v1/requests/${id}`);
        if (statuses.includes(r.body.status)) return r.body;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`request ${id} never reached ${statuses.join('|')}`);
    },
    async stop() {
      await worker?.step.run();
      await api.step.run();
      built.auth.stop();
      await Promise.all([built.scheduler.close(), built.cleanup.close(), built.webhooks.queue?.close(), built.monitorQueue.close(), built.clairQueue.close(), built.leaseKeeper.close()]);
      const keys = await redis.keys(`${config.redis.prefix}:*`);
      for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
      redis.disconnect();
    },
  };
}
