/**
 * `npm run bench:api`: list endpoints and CI lookups (issue 9). Not a test.
 *
 * A real redis-server holds 10,000 requests with 50 findings each (1 in 5 awaiting approval),
 * twice: as the store writes them now (findings in per-report keys, the record keeps summaries)
 * and as it wrote them before (every report inline in the record). The service (main.ts's own
 * wiring) answers `GET /v1/requests?limit=200` and `GET /v1/queue?limit=200`; the old list path
 * (read each whole record, answer it whole) is replayed by an express route over the old-format
 * copy. Prints medians, p99s and body sizes, then `GET /v1/approved` lookups per second against
 * a bare express route that returns a constant read from Redis, in the same run, as a ratio.
 * The API runs as main.ts serves it: the identity provider with role hygiene's disabled check,
 * the per-principal rate limit counting (set too high to refuse). Also printed: the Redis
 * commands per lookup (INFO commandstats; a script's inner calls count too, `evalsha` is the
 * round trips) and the CPU time per request of this process, steadier than requests/s when
 * other work shares the machine.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import express from 'express';
import Redis from 'ioredis';
import YAML from 'yaml';
import type { IntakeRegistry } from '../src/intake';
import { parseConfig } from '../src/lib/config';
import { sha256Hex } from '../src/lib/identity/tokens-file';
import { createLogger } from '../src/lib/logger';
import { buildServices, startApi } from '../src/main';
import { RedisApprovalStore, RedisRequestStore, type IntakeRequest } from '../src/store';
import { indexMember } from '../src/store/keys';
import { freePort, tempDir } from '../test/harness/proc';
import { startRedis } from '../test/harness/redis';

// BENCH_API_REQUESTS: fewer seeded requests, for a quick look at the lookup figures alone.
const REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 10_000);
const FINDINGS = 50;
const SAMPLES = 60;
const LOOKUP_SECONDS = 5;
const ROUNDS = 3;
const CONCURRENCY = 16;
const DIGEST = `sha256:${'d'.repeat(64)}`;

function record(i: number): IntakeRequest {
  const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  const findings = Array.from({ length: FINDINGS }, (_, j) => ({
    id: `CVE-2026-${String(i * FINDINGS + j).padStart(6, '0')}`, aliases: [`GHSA-${i}-${j}`], kind: 'vulnerability' as const,
    package: `libpkg${j}`, ecosystem: 'Debian:12', installedVersion: `1.${j}.0-1`, fixedVersion: `1.${j}.1-1`, severity: (['critical', 'high', 'medium', 'low'] as const)[j % 4],
    title: `a realistic advisory title for package libpkg${j}, about ninety characters long in total`, links: [`https://security-tracker.debian.org/tracker/CVE-2026-${j}`],
  }));
  return {
    id: `req-${String(i).padStart(5, '0')}`, image: `docker.io/library/app${i % 500}:1.${i % 7}`, team: 'payments', requestedBy: 'dev', justification: 'bench',
    status: i % 5 === 0 ? 'awaiting_approval' : 'rejected', createdAt: at, updatedAt: at,
    source: { registry: 'docker.io', repository: `library/app${i % 500}`, tag: `1.${i % 7}`, digest: `sha256:${i.toString(16).padStart(64, '0')}` },
    platforms: [], scans: [{ scanner: 'builtin', status: 'succeeded', summary: { critical: 13, high: 13, medium: 12, low: 12, unknown: 0 }, findings, startedAt: at, finishedAt: at, dbVersion: 'v1' }],
    codeScans: [], policy: { verdict: 'warn', reasons: [] }, waivers: [], decisions: [], internalRef: null, error: null,
    history: [{ status: 'requested', at, by: 'dev' }], version: 0,
  };
}

async function inBatches<T>(n: number, size: number, fn: (i: number) => Promise<T>): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j)));
}

/** The old format: the whole record, reports inline, as the store saved it before. */
async function seedOld(redis: Redis, prefix: string): Promise<void> {
  await inBatches(REQUESTS, 500, async (i) => {
    const r = { ...record(i), version: 1 };
    const m = indexMember(r.createdAt, r.id);
    await redis.multi().hset(`${prefix}:req:${r.id}`, 'v', '1', 'json', JSON.stringify(r))
      .zadd(`${prefix}:idx:all`, 0, m).zadd(`${prefix}:idx:status:${r.status}`, 0, m).exec();
  });
}

/** The old list path: each whole record read and answered whole. */
function oldListRoute(redis: Redis, prefix: string): express.Router {
  const router = express.Router();
  const list = async (index: string, desc: boolean): Promise<unknown> => {
    const members = desc ? await redis.zrevrangebylex(index, '+', '-', 'LIMIT', 0, 201) : await redis.zrangebylex(index, '-', '+', 'LIMIT', 0, 201);
    const items = await Promise.all(members.slice(0, 200).map(async (m) => {
      const { version: _v, ...rest } = JSON.parse((await redis.hget(`${prefix}:req:${m.slice(m.indexOf('|') + 1)}`, 'json'))!) as IntakeRequest;
      return rest;
    }));
    return { items, next: members.length > 200 ? 'x' : null };
  };
  router.get('/before/requests', async (_req, res) => { res.json(await list(`${prefix}:idx:all`, true)); });
  router.get('/before/queue', async (_req, res) => { res.json(await list(`${prefix}:idx:status:awaiting_approval`, false)); });
  return router;
}

async function sample(url: string, headers: Record<string, string>): Promise<{ median: number; p99: number; bytes: number }> {
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < SAMPLES + 5; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(url, { headers });
    const body = await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    if (i >= 5) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    bytes = body.byteLength;
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p99: times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)], bytes };
}

/** CPU time of this process (client and server both live here) per request of each side, µs. */
const cpuPerRequest: Record<string, number[]> = {};

async function throughput(url: string, headers: Record<string, string>, seconds = LOOKUP_SECONDS): Promise<number> {
  const cpu = process.cpuUsage();
  let count = 0;
  const end = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      count++;
    }
  }));
  const used = process.cpuUsage(cpu);
  (cpuPerRequest[new URL(url).pathname] ??= []).push((used.user + used.system) / count);
  return count / seconds;
}

async function listen(app: express.Express): Promise<{ server: Server; url: string }> {
  const port = await freePort();
  const server = app.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${port}` };
}

async function main(): Promise<void> {
  // The audit log is authenticated with a key Redis never holds: the run makes one of its own.
  process.env.PORTCULLIS_AUDIT_KEY ??= `bench:${randomBytes(32).toString('base64')}`;
  const redisService = await startRedis();
  const dir = tempDir('bench-api');
  const tokensFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokensFile, YAML.stringify({ principals: [
    { name: 'auditor', roles: ['auditor'], teams: [], tokenSha256: sha256Hex('token-auditor') },
    { name: 'approver', roles: ['approver'], teams: ['payments'], tokenSha256: sha256Hex('token-approver') },
    { name: 'ci', roles: ['ci'], teams: ['payments'], tokenSha256: sha256Hex('token-ci') },
  ] }));
  const config = parseConfig({
    // The per-principal limit counts as in production (the default is on), set too high to refuse anything.
    server: { host: '127.0.0.1', port: await freePort(), rateLimitPerMinute: 100_000_000 }, redis: { url: redisService.url, prefix: 'new' },
    internalRegistry: { url: 'http://127.0.0.1:9' }, auth: { tokensFile }, scanners: [], log: { level: 'silent' },
  });
  const logger = createLogger({ level: 'silent' });
  const redis = new Redis(redisService.url, { maxRetriesPerRequest: null });
  const services = buildServices(config, logger, redis, { registry: {} as IntakeRegistry });
  // The provider main.ts serves with: role hygiene's disabled-principal check included.
  const api = await startApi(config, logger, redis, services, services.auth.provider);
  const apiUrl = `http://127.0.0.1:${api.port}`;
  try {
    process.stdout.write(`seeding ${REQUESTS} requests × ${FINDINGS} findings, twice (new and old format)…\n`);
    const store = new RedisRequestStore(redis, 'new');
    await inBatches(REQUESTS, 200, (i) => store.create(record(i)));
    await seedOld(redis, 'old');
    const approvals = new RedisApprovalStore(redis, 'new');
    await approvals.put({ team: 'payments', digest: DIGEST, image: 'docker.io/library/nginx', tags: [], platforms: [], internalRef: `reg.internal/approved/payments/docker.io/library/nginx@${DIGEST}`, internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1.27', approvedAt: new Date().toISOString(), approvedBy: ['approver'], requestId: 'req-00000' });
    await approvals.addTag({ team: 'payments', image: 'docker.io/library/nginx', platforms: [] }, '1.27', DIGEST);
    await redis.set('bare:constant', `reg.internal/approved/payments/docker.io/library/nginx@${DIGEST}`);

    const side = express();
    side.use(oldListRoute(redis, 'old'));
    side.get('/bare', async (_req, res) => { res.json({ internalRef: await redis.get('bare:constant') }); });
    const sideServer = await listen(side);

    const auth = (who: string) => ({ authorization: `Bearer token-${who}` });
    const rows: Array<[string, { median: number; p99: number; bytes: number }]> = [
      ['GET /v1/requests?limit=200 (before: records whole)', await sample(`${sideServer.url}/before/requests`, {})],
      ['GET /v1/requests?limit=200 (after: summaries)', await sample(`${apiUrl}/v1/requests?limit=200`, auth('auditor'))],
      ['GET /v1/queue?limit=200 (before: records whole)', await sample(`${sideServer.url}/before/queue`, {})],
      ['GET /v1/queue?limit=200 (after: summaries)', await sample(`${apiUrl}/v1/queue?limit=200`, auth('approver'))],
    ];
    process.stdout.write(`\n${'endpoint'.padEnd(52)} ${'median ms'.padStart(10)} ${'p99 ms'.padStart(8)} ${'body'.padStart(12)}\n`);
    for (const [name, r] of rows) process.stdout.write(`${name.padEnd(52)} ${r.median.toFixed(1).padStart(10)} ${r.p99.toFixed(1).padStart(8)} ${(`${(r.bytes / 1024).toFixed(0)} KiB`).padStart(12)}\n`);

    const lookup = `${apiUrl}/v1/approved?image=${encodeURIComponent('docker.io/library/nginx:1.27')}&team=payments`;
    // Redis commands (and round trips) per lookup, warm: INFO commandstats around 1,000 lookups
    // from one client (a script's inner calls are counted too; `calls` of evalsha is the trips).
    for (let i = 0; i < 20; i++) await (await fetch(lookup, { headers: auth('ci') })).arrayBuffer();
    const stats = async (): Promise<Map<string, number>> => new Map([...(await redis.info('commandstats')).matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
    const before = await stats();
    for (let i = 0; i < 1000; i++) await (await fetch(lookup, { headers: auth('ci') })).arrayBuffer();
    const after = await stats();
    const perLookup = [...after].map(([c, n]) => [c, (n - (before.get(c) ?? 0)) / 1000] as const).filter(([c, n]) => n > 0 && c !== 'info');
    process.stdout.write(`\nRedis commands per GET /v1/approved: ${perLookup.map(([c, n]) => `${c} ${n.toFixed(2)}`).join(', ')}\n`);
    // Both sides warmed up first (the JIT's first seconds measured nothing about the route),
    // then alternated three times so that neither side gets the warmer machine.
    await throughput(lookup, auth('ci'), 2);
    await throughput(`${sideServer.url}/bare`, {}, 2);
    for (const k of Object.keys(cpuPerRequest)) delete cpuPerRequest[k];
    const ours: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(await throughput(lookup, auth('ci')));
      bare.push(await throughput(`${sideServer.url}/bare`, {}));
    }
    const o = ours.reduce((a, b) => a + b) / ours.length;
    const b = bare.reduce((a, c) => a + c) / bare.length;

    process.stdout.write(`\nrounds (lookups/s, ours vs bare): ${ours.map((x, i) => `${x.toFixed(0)} vs ${bare[i].toFixed(0)}`).join('; ')}`);
    // CPU per request is steadier than requests/s on a shared machine: it does not count the time others took.
    const cpuOf = (path: string): string => (cpuPerRequest[path] ?? []).map((x) => x.toFixed(0)).join(', ');
    process.stdout.write(`\nCPU µs per request of this process (client included), per round: ours ${cpuOf('/v1/approved')}; bare ${cpuOf('/bare')}`);
    process.stdout.write(`\nGET /v1/approved lookups/s: ${o.toFixed(0)}; bare express route reading a constant from Redis: ${b.toFixed(0)}; ratio ${(o / b).toFixed(2)} (goal ≥ 0.7; ${CONCURRENCY} concurrent clients, ${LOOKUP_SECONDS} s × ${ROUNDS} each after a warm-up)\n`);
    sideServer.server.close();
  } finally {
    await api.step.run();
    await services.scheduler.close();
    await services.cleanup.close();
    redis.disconnect();
    await redisService.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
