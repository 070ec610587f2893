/**
 * `npm run bench:ui`: the console's server time and page weight (issue 15). Not a test.
 *
 * A real redis-server holds 10,000 requests over 10 teams, 2,000 of them approved (with their
 * ledger entries), 200,000 findings in all (20 per request, drawn from 5,000 CVE ids and 300
 * packages so that unique counts mean something), indexed for search the way the API's
 * backfill does it. An admin of every team, signed in through the form, asks for the overview
 * (all teams), the approval queue and a CVE search, exact and by prefix (also as a developer
 * of one team, whose search skips the other teams' hits); each is timed from request to last byte
 * on loopback (median and p95; goal p95 < 300 ms). Then the overview's page weight: the HTML
 * and every script and stylesheet it loads, as transferred (goal < 300 KB). CPU time of this
 * process (server and client together) is printed beside.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import YAML from 'yaml';
import type { IntakeRegistry } from '../src/intake';
import { parseConfig } from '../src/lib/config';
import { sha256Hex } from '../src/lib/identity/tokens-file';
import { createLogger } from '../src/lib/logger';
import { buildServices, identityFrom, startApi } from '../src/main';
import { RedisApprovalStore, RedisFindingIndex, RedisRequestStore, type IntakeRequest } from '../src/store';
import { backfillFindingIndex } from '../src/ui/data/indexer';
import { freePort, tempDir } from '../test/harness/proc';
import { startRedis } from '../test/harness/redis';

const REQUESTS = Number(process.env.BENCH_UI_REQUESTS ?? 10_000);
const APPROVED = Math.round(REQUESTS / 5);
const FINDINGS = 20;
const TEAMS = Array.from({ length: 10 }, (_, i) => `team${i}`);
const SAMPLES = Number(process.env.BENCH_UI_SAMPLES ?? 40);
const SEVS = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

function record(i: number): IntakeRequest {
  const at = new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString();
  const approved = i % 5 === 0;
  const awaiting = i % 20 === 1;
  const team = TEAMS[i % TEAMS.length];
  const repo = `library/app${i % 400}`;
  const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
  const findings = Array.from({ length: FINDINGS }, (_, j) => {
    const cve = (i * 7 + j * 131) % 5000;
    return {
      id: `CVE-2026-${String(cve).padStart(5, '0')}`, aliases: [`GHSA-${cve}`], kind: 'vulnerability' as const, package: `libpkg${(i + j * 17) % 300}`,
      ecosystem: 'Debian:12', installedVersion: `1.${j}.0-1`, fixedVersion: j % 3 ? `1.${j}.1-1` : undefined, severity: SEVS[(cve + j) % 5],
      title: `an advisory title for package libpkg${j}, about sixty characters`, links: [],
    };
  });
  const summary = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const f of findings) summary[f.severity] += 1;
  return {
    id: `req-${String(i).padStart(5, '0')}`, image: `docker.io/${repo}:1.${i % 7}`, team, requestedBy: 'dev', justification: 'bench',
    status: approved ? 'approved' : awaiting ? 'awaiting_approval' : 'rejected', createdAt: at, updatedAt: at,
    source: { registry: 'docker.io', repository: repo, tag: `1.${i % 7}`, digest },
    platforms: [], scans: [{ scanner: 'builtin', status: 'succeeded', summary, findings, startedAt: at, finishedAt: at, dbVersion: 'v1' }],
    codeScans: [], policy: { verdict: awaiting && i % 3 === 0 ? 'fail' : 'warn', reasons: [], blocking: [] }, waivers: [], decisions: [],
    internalRef: approved ? `reg.internal/approved/${team}/docker.io/${repo}@${digest}` : null, error: null,
    history: [{ status: 'requested', at, by: 'dev' }], version: 0,
  };
}

async function inBatches(n: number, size: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += size) await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => fn(i + j)));
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function sample(url: string, cookie: string): Promise<{ median: number; p95: number; bytes: number; cpu: number }> {
  const times: number[] = [];
  let bytes = 0;
  let cpu0 = process.cpuUsage();
  for (let i = 0; i < SAMPLES + 3; i++) {
    if (i === 3) cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const res = await fetch(url, { headers: { cookie } });
    const body = await res.arrayBuffer();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    bytes = body.byteLength;
    if (i >= 3) times.push(ms); // the first three warm the JIT and connections
  }
  times.sort((a, b) => a - b);
  const cpu = process.cpuUsage(cpu0);
  // CPU per request (server and client, one process): what a loaded shared machine's wall time hides.
  return { median: pct(times, 50), p95: pct(times, 95), bytes, cpu: (cpu.user + cpu.system) / 1000 / SAMPLES };
}

async function signIn(url: string, token = 'token-admin'): Promise<string> {
  const login = await fetch(`${url}/ui/login`);
  const loginCookie = login.headers.getSetCookie().find((c) => c.startsWith('portcullis_login='))!.split(';')[0];
  const csrf = /name="csrf" value="([^"]+)"/.exec(await login.text())![1];
  const res = await fetch(`${url}/ui/login`, {
    method: 'POST', redirect: 'manual', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf, token }),
  });
  return res.headers.getSetCookie().find((c) => c.startsWith('portcullis_session='))!.split(';')[0];
}

/** The overview's HTML plus every script and stylesheet it references, as transferred. */
async function pageWeight(url: string, cookie: string): Promise<{ html: number; assets: Array<[string, number]> }> {
  const res = await fetch(`${url}/ui/overview`, { headers: { cookie, 'accept-encoding': 'gzip, br' } });
  const text = await res.text();
  const assets: Array<[string, number]> = [];
  for (const m of text.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)) {
    const a = await fetch(`${url}${m[1]}`, { headers: { 'accept-encoding': 'gzip, br' } });
    assets.push([m[1], (await a.arrayBuffer()).byteLength]);
  }
  return { html: Buffer.byteLength(text), assets };
}

async function main(): Promise<void> {
  process.env.PORTCULLIS_AUDIT_KEY ??= `bench:${randomBytes(32).toString('base64')}`;
  const redisService = await startRedis();
  const tokensFile = path.join(tempDir('bench-ui'), 'tokens.yaml');
  writeFileSync(tokensFile, YAML.stringify({ principals: [
    { name: 'admin', roles: ['admin', 'approver'], teams: ['*'], tokenSha256: sha256Hex('token-admin') },
    { name: 'dev', roles: ['developer'], teams: ['team3'], tokenSha256: sha256Hex('token-dev') },
  ] }));
  const config = parseConfig({
    server: { host: '127.0.0.1', port: await freePort(), rateLimitPerMinute: 0 }, ui: { rateLimitPerMinute: 0 }, redis: { url: redisService.url, prefix: 'ui' },
    internalRegistry: { url: 'http://127.0.0.1:9' }, auth: { tokensFile }, scanners: [], log: { level: 'silent' },
  });
  const logger = createLogger({ level: 'silent' });
  const redis = new Redis(redisService.url, { maxRetriesPerRequest: null });
  const services = buildServices(config, logger, redis, { registry: {} as IntakeRegistry });
  const api = await startApi(config, logger, redis, services, identityFrom(config, logger));
  const url = `http://127.0.0.1:${api.port}`;
  try {
    process.stdout.write(`seeding ${REQUESTS} requests (${APPROVED} approved), ${REQUESTS * FINDINGS} findings…\n`);
    const store = new RedisRequestStore(redis, 'ui');
    const approvals = new RedisApprovalStore(redis, 'ui');
    await inBatches(REQUESTS, 200, async (i) => {
      const r = record(i);
      await store.create(r);
      if (r.status !== 'approved') return;
      await approvals.put({ team: r.team, digest: r.source.digest!, image: `docker.io/${r.source.repository}`, tags: [r.source.tag!], platforms: [],
        internalRef: r.internalRef!, internalRepository: `approved/${r.team}/docker.io/${r.source.repository}`, internalTag: r.source.tag!,
        approvedAt: r.createdAt, approvedBy: ['approver'], requestId: r.id });
    });
    const t0 = Date.now();
    const indexed = await backfillFindingIndex(store, new RedisFindingIndex(redis, 'ui'));
    process.stdout.write(`finding index backfill: ${indexed} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

    const cookie = await signIn(url);
    const devCookie = await signIn(url, 'token-dev');
    const cpu0 = process.cpuUsage();
    const wall0 = Date.now();
    const rows: Array<[string, { median: number; p95: number; bytes: number; cpu: number }]> = [
      ['GET /ui/overview (all 10 teams)', await sample(`${url}/ui/overview`, cookie)],
      ['GET /ui/queue', await sample(`${url}/ui/queue`, cookie)],
      ['GET /ui/search?q=CVE-2026-00042', await sample(`${url}/ui/search?q=CVE-2026-00042`, cookie)],
      ['GET /ui/search?q=libpkg7 (package)', await sample(`${url}/ui/search?q=libpkg7`, cookie)],
      // Prefix: libpkg1 starts 111 of the 300 package names (20 are read, ~13,000 hits); CVE-2026-0004 starts 10 ids.
      ['GET /ui/search?q=libpkg1 (prefix)', await sample(`${url}/ui/search?q=libpkg1`, cookie)],
      ['GET /ui/search?q=CVE-2026-0004 (prefix)', await sample(`${url}/ui/search?q=CVE-2026-0004`, cookie)],
      ['  as a developer of 1 team: libpkg1', await sample(`${url}/ui/search?q=libpkg1`, devCookie)],
    ];
    const cpu = process.cpuUsage(cpu0);
    const wall = Date.now() - wall0;
    process.stdout.write(`\n${'page'.padEnd(40)} ${'median ms'.padStart(10)} ${'p95 ms'.padStart(8)} ${'CPU ms/req'.padStart(11)} ${'HTML'.padStart(10)}   goal p95 < 300 ms\n`);
    for (const [name, r] of rows) {
      process.stdout.write(`${name.padEnd(40)} ${r.median.toFixed(1).padStart(10)} ${r.p95.toFixed(1).padStart(8)} ${r.cpu.toFixed(1).padStart(11)} ${`${(r.bytes / 1024).toFixed(0)} KiB`.padStart(10)}   ${r.p95 < 300 ? 'met' : 'NOT met'}\n`);
    }
    process.stdout.write(`CPU time of this process over those ${rows.length * SAMPLES} samples: user ${(cpu.user / 1000).toFixed(0)} ms + system ${(cpu.system / 1000).toFixed(0)} ms in ${wall} ms wall (server and client share the process)\n`);
    const w = await pageWeight(url, cookie);
    const total = w.html + w.assets.reduce((n, [, b]) => n + b, 0);
    process.stdout.write(`\noverview page weight (no compression is configured; bytes as transferred):\n  HTML ${(w.html / 1024).toFixed(1)} KiB\n`);
    for (const [a, b] of w.assets) process.stdout.write(`  ${a} ${(b / 1024).toFixed(1)} KiB\n`);
    process.stdout.write(`  total ${(total / 1024).toFixed(1)} KiB (${total} bytes)   goal < 300 KB: ${total < 300_000 ? 'met' : 'NOT met'}\n`);
  } finally {
    await api.step.run();
    services.auth.stop();
    await Promise.all([services.scheduler.close(), services.cleanup.close()]);
    redis.disconnect();
    await redisService.stop();
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
