/**
 * Redis away under the built service (`node dist/src/main.js`, API and worker in one
 * process): a real redis-server of its own, stopped and started again. While Redis is down
 * every API call answers 503 DEPENDENCY_UNAVAILABLE instead of hanging, /readyz names
 * `redis`, every log line stays JSON (nothing on stderr), and the service recovers by itself.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { freePort, tempDir, waitFor } from '../../harness/proc';
import { startRedis, type RedisService } from '../../harness/redis';
import { services, uniqueName } from '../../harness/services';
import { logLines, startService, type StartedService } from './spawn-service';

const TOKEN = 'redis-faults-dev-token';

/** A call that would hang forever without a command deadline ends here as an abort, failing the test. */
async function get(url: string, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('the service while Redis is down', () => {
  const svc = services();
  let redis: RedisService;
  let service: StartedService;
  let base: string;

  beforeAll(async () => {
    redis = await startRedis();
    const dir = tempDir('redis-faults');
    const tokensFile = path.join(dir, 'tokens.yaml');
    writeFileSync(tokensFile, YAML.stringify([{ name: 'dev', roles: ['developer'], teams: ['payments'], tokenSha256: createHash('sha256').update(TOKEN).digest('hex') }]));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    service = startService({
      server: { port },
      redis: { url: redis.url, prefix: uniqueName('faults') },
      internalRegistry: { url: svc.internal.url },
      auth: { tokensFile },
      scanners: [],
    }, [], { NODE_ENV: 'production' });
    await waitFor(async () => (await get(`${base}/healthz`)).status === 200, 'the service', 30_000);
  });

  afterAll(async () => {
    service.child.kill('SIGTERM');
    await service.exited;
    await redis.stop();
  });

  it('answers 503 DEPENDENCY_UNAVAILABLE, names redis in /readyz, logs JSON only, and recovers when Redis returns', async () => {
    expect((await get(`${base}/v1/requests`, TOKEN)).status).toBe(200);

    await redis.stop();
    for (const p of ['/v1/requests', '/v1/queue', '/v1/approved?image=docker.io/library/x:1']) {
      const r = await get(`${base}${p}`, TOKEN);
      expect({ p, status: r.status, code: r.body?.error?.code }).toEqual({ p, status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    }
    // The failed-authentication limiter fails closed: without its count a bad token gets 503, not a free try.
    const bad = await get(`${base}/v1/requests`, 'not-a-token');
    expect([bad.status, bad.body.error.code]).toEqual([503, 'DEPENDENCY_UNAVAILABLE']);
    const ready = await get(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.failing).toContain('redis');
    expect(ready.body.dependencies.redis).toBe('unavailable');

    redis = await startRedis({ port: redis.port, dir: redis.dir });
    await waitFor(async () => (await get(`${base}/v1/requests`, TOKEN)).status === 200, 'the API to recover', 30_000);
    await waitFor(async () => (await get(`${base}/readyz`)).body.dependencies.redis === 'ok', 'readyz to recover', 30_000);

    const lines = logLines(service); // throws on a line that is not JSON
    expect(service.stderr()).toBe('');
    expect(lines.some((l) => l.message === 'redis connection error: retrying')).toBe(true);
    expect(lines.some((l) => l.message === 'redis connection restored')).toBe(true);
    expect(lines.some((l) => l['http.response.status_code'] === 503)).toBe(true);
  });
});
