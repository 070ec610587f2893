/**
 * Benchmark (not a test): requests per second of an authenticated `GET /v1/approved` (CI's call,
 * answering an approved reference) with bearer JWTs against the same call with a static
 * tokens-file token, in the same run, on the real API process (dist/src/main.js --role api) and
 * a real redis-server. JWTs: a person's RS256 token from an OIDC issuer (discovery + JWKS served
 * on loopback) and a CI workload's ES256 Kubernetes ServiceAccount token; the JWKS is cached
 * after the first request, as in production. Rounds alternate static / OIDC / workload so that
 * drift on a shared machine hits all three alike; the ratio is JWT req/s over static req/s
 * (goal ≥ 0.8).
 *
 * Run: `npm run bench:auth` (builds first). Env: BENCH_SECONDS (4 per round), BENCH_ROUNDS (3),
 * BENCH_CONNECTIONS (16 concurrent keep-alive clients).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Redis from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import YAML from 'yaml';
import { sha256Hex } from '../src/lib/identity/tokens-file';
import { RedisApprovalStore } from '../src/store';
import { freePort, httpOk, tempDir, waitFor } from '../test/harness/proc';
import { startRedis } from '../test/harness/redis';
import { median } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const STATIC_TOKEN = 'bench-static-token-0123456789abcdef';
const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** An issuer on loopback: discovery and JWKS of one key pair. */
async function issuer(alg: 'RS256' | 'ES256'): Promise<{ url: string; jwksUrl: string; key: CryptoKey; kid: string; close(): void }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `bench-${alg}`;
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  let url = '';
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
    else res.end(JSON.stringify({ keys: [jwk] }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, jwksUrl: `${url}/jwks`, key: privateKey, kid, close: () => server.close() };
}

/** `CONNECTIONS` clients calling as fast as they can for `SECONDS`; requests per second. */
async function load(url: string, token: string): Promise<number> {
  const headers = { authorization: `Bearer ${token}` };
  const first = await fetch(url, { headers });
  if (first.status !== 200) throw new Error(`GET ${url} answered ${first.status}: ${await first.text()}`);
  await first.arrayBuffer();
  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (Date.now() < end) {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`answered ${res.status}`);
      done += 1;
    }
  }));
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const [oidc, cluster] = await Promise.all([issuer('RS256'), issuer('ES256')]);
  const dir = tempDir('bench-auth');
  const tokensFile = path.join(dir, 'tokens.yaml');
  // A realistic tokens file: the caller among 50 principals (every entry is compared).
  const principals = Array.from({ length: 49 }, (_, i) => ({ name: `p${i}`, roles: ['developer'], teams: ['t'], tokenSha256: sha256Hex(`other-${i}`) }));
  principals.push({ name: 'ci-static', roles: ['ci'], teams: ['payments'], tokenSha256: sha256Hex(STATIC_TOKEN) });
  writeFileSync(tokensFile, YAML.stringify({ principals }));
  const port = await freePort();
  const prefix = 'bench-auth';
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, YAML.stringify({
    server: { host: '127.0.0.1', port, rateLimitPerMinute: 0 },
    redis: { url: redis.url, prefix },
    internalRegistry: { url: 'http://127.0.0.1:9' },
    scanners: [],
    log: { level: 'warn' },
    auth: {
      tokensFile,
      oidc: { issuer: oidc.url, clientId: 'portcullis', groups: { 'payments-ci': { roles: ['ci'], teams: ['payments'] } } },
      workloads: [{ issuer: cluster.url, audience: 'portcullis', jwksUrl: cluster.jwksUrl, claims: { 'kubernetes.io.namespace': 'payments-ci' }, team: 'payments', role: 'ci' }],
    },
  }));
  const store = new Redis(redis.url);
  const approvals = new RedisApprovalStore(store, prefix);
  await approvals.put({
    team: 'payments', digest: DIGEST, image: 'docker.io/library/nginx', tags: ['1.27'], internalRef: `registry.bank.internal/approved/payments/docker.io/library/nginx@${DIGEST}`,
    internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1.27', approvedAt: new Date().toISOString(), approvedBy: ['bench'], requestId: 'bench',
  });
  await approvals.addTag({ team: 'payments', image: 'docker.io/library/nginx', platforms: [] }, '1.27', DIGEST);

  const log = openSync(path.join(dir, 'api.log'), 'a');
  const api: ChildProcess = spawn(process.execPath, [MAIN, '--role', 'api'], { cwd: ROOT, env: { ...process.env, PORTCULLIS_CONFIG: configFile, PORTCULLIS_METRICS_PORT: '0', PORTCULLIS_AUDIT_KEY: process.env.PORTCULLIS_AUDIT_KEY ?? `bench:${randomBytes(32).toString('base64')}` }, stdio: ['ignore', log, log] });
  try {
    await waitFor(() => httpOk(`http://127.0.0.1:${port}/healthz`), 'the API', 30000);
    const now = Math.floor(Date.now() / 1000);
    const person = await new SignJWT({ sub: 'u-4711', preferred_username: 'ci.person', groups: ['payments-ci'], aud: 'portcullis', iat: now, exp: now + 3600 })
      .setIssuer(oidc.url).setProtectedHeader({ alg: 'RS256', kid: oidc.kid }).sign(oidc.key);
    const workload = await new SignJWT({ sub: 'system:serviceaccount:payments-ci:builder', aud: ['portcullis'], iat: now, exp: now + 3600, 'kubernetes.io': { namespace: 'payments-ci', serviceaccount: { name: 'builder' } } })
      .setIssuer(cluster.url).setProtectedHeader({ alg: 'ES256', kid: cluster.kid }).sign(cluster.key);
    const url = `http://127.0.0.1:${port}/v1/approved?image=docker.io/library/nginx:1.27&team=payments`;
    const runs = { static: [] as number[], oidc: [] as number[], workload: [] as number[] };
    // One short warm-up each (JIT, JWKS fetch, connection pool), not counted.
    for (const token of [STATIC_TOKEN, person, workload]) await fetch(url, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    for (let round = 0; round < ROUNDS; round++) {
      runs.static.push(await load(url, STATIC_TOKEN));
      runs.oidc.push(await load(url, person));
      runs.workload.push(await load(url, workload));
    }
    const s = median(runs.static);
    const o = median(runs.oidc);
    const w = median(runs.workload);
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
    process.stdout.write([
      `GET /v1/approved, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS}s (median req/s; each round in brackets)`,
      `  static token (tokens file, 50 entries): ${s.toFixed(0)} req/s  [${fmt(runs.static)}]`,
      `  OIDC JWT (RS256, JWKS cached):          ${o.toFixed(0)} req/s  [${fmt(runs.oidc)}]  ratio ${(o / s).toFixed(2)}`,
      `  workload JWT (ES256, JWKS cached):      ${w.toFixed(0)} req/s  [${fmt(runs.workload)}]  ratio ${(w / s).toFixed(2)}`,
      `  goal: ratio ≥ 0.80 → ${Math.min(o, w) / s >= 0.8 ? 'met' : 'NOT met'}`,
      '',
    ].join('\n'));
  } finally {
    api.kill('SIGTERM');
    store.disconnect();
    oidc.close();
    cluster.close();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:auth failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
