/**
 * The built service as a user starts it: `node dist/src/main.js` (npm test builds first).
 * Bad configuration stops it with one line naming the key; good configuration gives
 * /healthz and /readyz, and /readyz names a dependency that is down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { freePort, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';

const MAIN = path.resolve(__dirname, '../../../dist/src/main.js');

function writeConfig(content: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-main-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, YAML.stringify(content));
  return file;
}

function run(configFile: string, args: string[] = []): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, PORTCULLIS_CONFIG: configFile, NODE_ENV: 'production', PORTCULLIS_METRICS_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('service process', () => {
  const svc = services();

  it('stops at start with one line naming a bad key', async () => {
    const file = writeConfig({ server: { port: 'http' }, internalRegistry: { url: svc.internal.url } });
    const p = run(file);
    expect(await p.exited).not.toBe(0);
    const lines = p.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^config: server\.port: /);
  });

  it('answers healthz and readyz, and readyz names the dependency that is down', async () => {
    const port = await freePort();
    const deadRegistry = `http://127.0.0.1:${await freePort()}`;
    const file = writeConfig({
      server: { port },
      redis: { url: svc.redis.url, prefix: uniqueName('main') },
      internalRegistry: { url: deadRegistry },
      // The default builtin scanner's OSV folder does not exist here; scanners are tested in startup.test.ts.
      scanners: [],
    });
    const p = run(file);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'healthz', 20000);
      const health = await fetch(`${base}/healthz`);
      expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { failing: string[] };
      expect(body.failing).toEqual(['internalRegistry']);
      const missing = await fetch(`${base}/no/such/route`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    } finally {
      p.child.kill('SIGTERM');
    }
    expect(await p.exited).toBe(0);
    const logLines = p.output().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logLines.some((l) => l.message === 'stopped')).toBe(true);
    expect(logLines.some((l) => l['url.path'] === '/readyz' && l['http.response.status_code'] === 503)).toBe(true);
  });

  it('is ready when Redis and the internal registry answer', async () => {
    const port = await freePort();
    const file = writeConfig({
      server: { port },
      redis: { url: svc.redis.url, prefix: uniqueName('main') },
      internalRegistry: { url: svc.internal.url },
    });
    const p = run(file, ['--role', 'api']);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitFor(async () => (await fetch(`${base}/healthz`)).ok, 'healthz', 20000);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', dependencies: { redis: 'ok', internalRegistry: 'ok' } });
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
});
