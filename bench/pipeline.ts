/**
 * Benchmark (not a test): a burst of N requests for distinct images through the whole pipeline
 * (API, workers, reverse proxy, quarantine copy, builtin scan, policy) up to
 * `awaiting_approval`, against the work's own floor measured in the same run: `skopeo copy` of
 * the same images through the same proxy into the same kind of registry, plus `zcat` of their
 * layers (the decompression every scan must do at least once).
 *
 * Prints, per worker layout (1 and 2 worker processes by default): requests per minute; p50 and
 * p95 from request to awaiting_approval, also as a fraction of the burst's total time; CPU
 * seconds per request of each process group (Portcullis, registries, nginx, Redis, read from
 * /proc); peak RSS of the Portcullis processes; the staged-blob memory's hit rate (each worker's
 * `portcullis_staged_blob_reads_total`, scraped at the end); and the ratio of Portcullis CPU per
 * request to the floor's. And the machine's ceiling: the CPU per request of every process of the
 * pipeline together (Portcullis, registries, nginx, Redis) and the requests per minute this
 * machine's cores could give at that cost if none ever waited, with the share of it the run
 * reached. Two builds' ceilings bound the throughput ratio between them: on a small machine where
 * the registries take half the CPU, a cheaper Portcullis raises the ceiling far less than its own
 * CPU falls.
 *
 * Reading p50: requests of equal cost that all arrive at once and finish in arrival order finish
 * evenly spread over the burst, so p50 / total tends to 0.5 however well the queue orders them;
 * the FIFO-per-step order of old gave 0.75–0.8 (every request waited for nearly every copy).
 *
 * Run: `npm run bench:pipeline` (builds first). Env: BENCH_REQUESTS (200), BENCH_IMAGE_MIB (8),
 * BENCH_WORKERS (`1,2`: worker processes per run), BENCH_CONCURRENCY (worker.concurrency; unset: each build's own default,
 * from its config/default.yaml),
 * BENCH_SCAN_AFTER_STAGE (`1`/`0`: worker.scanAfterStage; unset: the config default),
 * BENCH_SCAN_THREADS (worker.scanThreads of each worker process; unset: the config default),
 * BENCH_PROFILE (a folder: every Portcullis process and scan thread writes a V8 CPU profile
 * there, `--cpu-prof`; open them in Chrome DevTools),
 * BENCH_SKIP_FLOOR (1: no floor run, for profiling only), BENCH_NODE_ARGS (more node options for
 * every Portcullis process, e.g. `--trace-gc`; the run's folder and its logs are then kept),
 * BENCH_BUILDS (comma-separated checkouts, each built (`dist/src/main.js`): every layout runs
 * once per build, against the same images, services and floor in the same process, so that two
 * builds compare on one machine in one session; runs alternate the builds' order from one
 * layout to the next; default: this checkout). An entry `<checkout>+inline` runs that build with
 * its builtin scans on each worker's event loop instead of its scan threads (./inline-scans.ts,
 * a preload of the bench, not a product mode): scan threads against none, in one build; an
 * entry `<checkout>+threads=N` runs it with `worker.scanThreads: N` (overriding BENCH_SCAN_THREADS);
 * `<checkout>+node=<option>` (repeatable) gives its worker processes that node option (GC tuning);
 * `<checkout>+concurrency=N` runs it with `worker.concurrency: N` (overriding BENCH_CONCURRENCY);
 * `<checkout>+nosbom` runs it with `monitor.sbomReferrers: false`, so that a build since issue 13
 * (which also stores each image's SBOM as an OCI referrer in the internal registry: more registry
 * requests per image) does the same work as one from before it.
 * A checkout from before issue 17 (no metrics listener, no scan threads) runs too, for a same-run
 * comparison with "today's" code of the issue: the config written has only keys it knows unless
 * an env above asks for more, and its workers count as started once idle (see startedUp).
 *
 * BENCH_ROUNDS (1): how many times every layout runs every build, the builds' order alternating
 * from one round to the next. With more than one, the summary adds per build and layout the
 * medians over the rounds, and each build's throughput against the first build's: the median of
 * the rounds' paired ratios (a run and the first build's run of the same round), which a noisy
 * machine (a VM whose host takes CPU for seconds at a time) moves far less than a single run.
 *
 * Also printed per run: Redis commands per request, by command (`INFO commandstats`), so that a
 * change in round trips shows beside the CPU it costs.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { availableCores } from '../src/lib/cpus';
import { sha256Hex } from '../src/lib/identity/tokens-file';
import { buildImage, pushImage, type BuiltImage } from '../test/harness/images';
import { startNginx, type NginxService } from '../test/harness/nginx';
import { freePort, tempDir, waitFor } from '../test/harness/proc';
import { startRedis, type RedisService } from '../test/harness/redis';
import { startRegistry, type RegistryService } from '../test/harness/registry';
import { median } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const OSV = path.join(ROOT, 'test', 'fixtures', 'osv', 'db');
/** Checkouts whose build runs the pipeline (see BENCH_BUILDS). */
const BUILDS = (process.env.BENCH_BUILDS ?? ROOT).split(',').filter(Boolean);
const MiB = 1024 * 1024;
const N = Number(process.env.BENCH_REQUESTS ?? 200);
const IMAGE_BYTES = Number(process.env.BENCH_IMAGE_MIB ?? 8) * MiB;
const LAYOUTS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 1)) || 1);
const CONCURRENCY = process.env.BENCH_CONCURRENCY ? Number(process.env.BENCH_CONCURRENCY) : undefined;
const SCAN_AFTER_STAGE = process.env.BENCH_SCAN_AFTER_STAGE;
const SCAN_THREADS = process.env.BENCH_SCAN_THREADS;
const PROFILE = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : undefined;
/**
 * How often the bench asks whether the burst is done. Latencies come from each request's
 * history, so this only bounds how long the bench waits after the end; asking often would add
 * the bench's own list calls to the API's CPU (a 200-request page 20 times a second did).
 */
const POLL_MS = 1000;
const HOST = 'bench.local';
/** A key for this run's audit log only (the service refuses to start without one). */
const AUDIT_KEY = `bench:${randomBytes(32).toString('base64')}`;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** A distinct, realistic image: an OS layer with a dpkg database, an app layer with npm packages and data. */
async function makeImage(i: number): Promise<BuiltImage> {
  const dpkg = Array.from({ length: 150 }, (_, k) => [`Package: lib${k}`, 'Status: install ok installed', `Source: src${k % 60}`,
    `Version: 1.${k}.${i}-1`, 'Architecture: amd64', `Description: package ${k}`, ''].join('\n')).join('\n');
  const text = Buffer.from(`image ${i}: lorem ipsum dolor sit amet, consectetur adipiscing elit; `.repeat(Math.ceil(MiB / 60))).subarray(0, MiB);
  const data: Record<string, Buffer | string> = {};
  for (let k = 0, total = 0; total < IMAGE_BYTES; k += 1, total += MiB) data[`srv/data/f${k}.bin`] = k % 5 < 3 ? randomBytes(MiB) : text;
  for (let k = 0; k < 40; k += 1) data[`srv/node_modules/p${k}/package.json`] = JSON.stringify({ name: `p${k}`, version: `1.0.${i}` });
  return buildImage({
    layers: [{ files: { 'etc/os-release': 'ID=debian\nVERSION_ID="12"\n', 'var/lib/dpkg/status': dpkg } }, { files: data }],
    config: { User: '1000' },
  });
}

interface Proc { name: string; pids: () => number[] }

function children(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)]);
  return r.stdout.toString().split('\n').filter(Boolean).map(Number);
}

/** utime + stime of a live process, in seconds. */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of a live process's threads: its main thread, and the others. Node 20 names none
 * of its threads, so the others are one group: the scan threads, but also V8's helpers (the main
 * heap's concurrent marking and sweeping, compilers), libuv's pool (zlib, fs) and the lease keeper.
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = Number(tid) === pid ? 'main' : comm === 'node' ? 'other threads' : comm.replace(/\s*\d+$/, '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / CLK_TCK);
    }
  } catch {
    // gone
  }
  return out;
}

function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function cpu(groups: Proc[]): Map<string, number> {
  return new Map(groups.map((g) => [g.name, g.pids().reduce((s, p) => s + cpuOf(p), 0)]));
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function api<T>(base: string, token: string, method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(url, base), {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface RequestView {
  id: string; status: string; createdAt: string; history: Array<{ status: string; at: string }>; error: unknown;
  scans?: Array<{ scanner: string; status: string; findings?: unknown[]; error?: unknown }>;
}

/**
 * A build's own `worker.concurrency` default (its config/default.yaml), so that each build runs
 * as a user would run it unless told otherwise.
 */
function defaultConcurrency(root: string): number {
  const config = YAML.parse(readFileSync(path.join(path.resolve(root), 'config', 'default.yaml'), 'utf8')) as { worker?: { concurrency?: unknown } };
  const n = config.worker?.concurrency;
  if (typeof n !== 'number') throw new Error(`${root}/config/default.yaml has no worker.concurrency`);
  return n;
}

/**
 * A BENCH_BUILDS entry: a built checkout, whether its scans run on the event loop (`+inline`),
 * its scan threads (`+threads=N`), node options of its worker processes (`+node=--flag=value`,
 * once per option), its worker.concurrency (`+concurrency=N`), no SBOM referrers (`+nosbom`).
 */
function parseBuild(entry: string): { root: string; inline: boolean; threads?: number; concurrency: number; nodeArgs: string[]; noSbom: boolean } {
  const [root, ...options] = entry.split('+');
  const threads = options.find((o) => o.startsWith('threads='));
  const concurrency = options.find((o) => o.startsWith('concurrency='));
  const nodeArgs = options.filter((o) => o.startsWith('node=')).map((o) => o.slice('node='.length));
  return {
    root: path.resolve(root), inline: options.includes('inline'), noSbom: options.includes('nosbom'), nodeArgs, concurrency: concurrency ? Number(concurrency.slice('concurrency='.length)) : CONCURRENCY ?? defaultConcurrency(root),
    ...(threads ? { threads: Number(threads.slice('threads='.length)) } : {}),
  };
}

function spawnPortcullis(entry: string, role: string, configFile: string, log: string, metricsPort: number): ChildProcess {
  const build = parseBuild(entry);
  const inline = build.inline && role === 'worker' ? ['--require', path.join(build.root, 'dist', 'bench', 'inline-scans.js')] : [];
  const out = openSync(log, 'a');
  const profile = PROFILE ? ['--cpu-prof', '--cpu-prof-dir', path.join(PROFILE, path.basename(path.dirname(log)), path.basename(log, '.log'))] : [];
  const extra = [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(role === 'worker' ? build.nodeArgs : [])];
  return spawn(process.execPath, [...profile, ...extra, ...inline, path.join(build.root, 'dist', 'src', 'main.js'), '--role', role], {
    cwd: build.root, stdio: ['ignore', out, out],
    env: { ...process.env, PORTCULLIS_CONFIG: configFile, PORTCULLIS_METRICS_PORT: String(metricsPort), PORTCULLIS_AUDIT_KEY: process.env.PORTCULLIS_AUDIT_KEY ?? AUDIT_KEY },
  });
}

/**
 * Whether a build's processes serve metrics (its config knows PORTCULLIS_METRICS_PORT). The
 * code before issue 17 (BENCH_BUILDS=<its checkout>, to measure "today's" throughput) has no
 * metrics listener, so the bench cannot ask its workers whether they have started.
 */
function servesMetrics(entry: string): boolean {
  const { root } = parseBuild(entry);
  return readFileSync(path.join(root, 'dist', 'src', 'lib', 'config.js'), 'utf8').includes('PORTCULLIS_METRICS_PORT');
}

/**
 * Waits until the worker processes `pids` have started, for a build that cannot say so (no
 * metrics, see {@link servesMetrics}): until none of them used more than 20 ms of CPU in the
 * last half second (start-up, loading the OSV data, is CPU-bound; an idle worker uses ~none).
 */
async function startedUp(pids: number[]): Promise<void> {
  let last = pids.map(cpuOf);
  for (let quiet = 0; quiet < 2;) {
    await new Promise((r) => setTimeout(r, 500));
    const now = pids.map(cpuOf);
    quiet = now.every((c, i) => c - last[i] <= 0.02) ? quiet + 1 : 0;
    last = now;
  }
}

/** `portcullis_staged_blob_reads_total` of one process, by result. */
async function stagedReads(metricsPort: number): Promise<{ hit: number; miss: number }> {
  const out = { hit: 0, miss: 0 };
  // A build without a metrics listener (BENCH_BUILDS of an older one) reads 0/0.
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
  for (const m of text.matchAll(/^portcullis_staged_blob_reads_total\{result="(hit|miss)"\} (\d+)/gm)) out[m[1] as 'hit' | 'miss'] = Number(m[2]);
  return out;
}

/** Seconds and runs of each pipeline step in one worker (`portcullis_pipeline_stage_duration_seconds`, every outcome). */
async function stepTimes(metricsPort: number): Promise<Map<string, { sum: number; count: number }>> {
  const out = new Map<string, { sum: number; count: number }>();
  const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
  for (const m of text.matchAll(/^portcullis_pipeline_stage_duration_seconds_(sum|count)\{stage="(\w+)",outcome="\w+"\} ([\d.e+-]+)/gm)) {
    const t = out.get(m[2]) ?? { sum: 0, count: 0 };
    t[m[1] as 'sum' | 'count'] += Number(m[3]);
    out.set(m[2], t);
  }
  return out;
}

/** Redis's calls so far by command (`INFO commandstats`). */
function redisCalls(redis: RedisService): Map<string, number> {
  const text = execFileSync('redis-cli', ['-u', redis.url, 'INFO', 'commandstats']).toString();
  return new Map([...text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

/**
 * Per build and layout, the medians over the rounds (BENCH_ROUNDS), and its throughput against
 * the first build's of the same layout: the median of the paired ratios, round by round.
 */
function printMedians(results: Array<RunResult & { round: number }>, floor: { cpuPerReq: number } | null): void {
  console.log(`\n== medians over ${ROUNDS} rounds: build, worker processes, runs, requests/min, Portcullis CPU ms/request, ratio to the floor, p50/total, throughput / ${BUILDS[0]}'s (median of the rounds' paired ratios), ceiling requests/min (every process's CPU on ${CORES} cores) ==`);
  for (const workers of LAYOUTS) {
    for (const build of BUILDS) {
      const mine = results.filter((r) => r.build === build && r.workers === workers);
      if (mine.length === 0) continue;
      const paired = mine.flatMap((r) => {
        const first = results.find((b) => b.build === BUILDS[0] && b.workers === workers && b.round === r.round);
        return first ? [r.reqPerMin / first.reqPerMin] : [];
      });
      const cpu = median(mine.map((r) => r.cpuPerReq));
      console.log(`${build} ${workers} ${mine.length} ${median(mine.map((r) => r.reqPerMin)).toFixed(0)} ${(cpu * 1000).toFixed(0)} ${floor ? (cpu / floor.cpuPerReq).toFixed(2) : '-'} ${median(mine.map((r) => r.p50Share)).toFixed(2)} ${paired.length ? median(paired).toFixed(2) : '-'} ${median(mine.map((r) => r.ceiling)).toFixed(0)}`);
    }
  }
}

const CORES = availableCores();

/** The machine's ceiling at a run's cost: every process group's CPU per request (the indented entries are parts of one), and the requests/min the cores give at it. */
function ceilingOf(used: Map<string, number>): { cpuPerReq: number; reqPerMin: number } {
  const cpuPerReq = [...used].filter(([k]) => !k.startsWith(' ')).reduce((n, [, v]) => n + v, 0) / N;
  return { cpuPerReq, reqPerMin: (CORES * 60) / cpuPerReq };
}

interface Shared { redis: RedisService; upstream: RegistryService; proxy: NginxService; images: BuiltImage[]; dir: string }

interface RunResult {
  build: string; workers: number; reqPerMin: number; cpuPerReq: number;
  /** Requests per minute the machine's cores could give at the run's CPU per request of every process. */
  ceiling: number;
  /** CPU seconds per request by process group; p50 / total; Redis commands per request without the bench's polling. */
  groups: Map<string, number>; p50Share: number; redisPerReq: number;
}

async function runPipeline(s: Shared, workers: number, build: string, run: number): Promise<RunResult> {
  // Inside the run's folder (deleted at the end), not a folder of its own in /tmp that would stay.
  const internal = await startRegistry({ name: `bench-internal-${workers}`, dir: path.join(s.dir, `internal-${run}`) });
  const dir = path.join(s.dir, `run-${run}`);
  mkdirSync(dir, { recursive: true });
  const token = randomBytes(24).toString('hex');
  writeFileSync(path.join(dir, 'tokens.yaml'), YAML.stringify({ principals: [{ name: 'bench-dev', roles: ['developer'], teams: ['bench'], tokenSha256: sha256Hex(token) }] }));
  const port = await freePort();
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, YAML.stringify({
    server: { host: '127.0.0.1', port, rateLimitPerMinute: 0 },
    redis: { url: s.redis.url, prefix: `bench-${randomUUID().slice(0, 8)}` },
    internalRegistry: { url: internal.url, insecure: true },
    upstreams: [{ registry: HOST, endpoint: s.proxy.url, insecure: true }],
    scanners: [{ name: 'builtin', type: 'builtin', osvPath: OSV }],
    auth: { tokensFile: path.join(dir, 'tokens.yaml') },
    worker: {
      concurrency: parseBuild(build).concurrency, ...(SCAN_AFTER_STAGE !== undefined ? { scanAfterStage: SCAN_AFTER_STAGE === '1' } : {}),
      ...(SCAN_THREADS ? { scanThreads: SCAN_THREADS === 'auto' ? 'auto' : Number(SCAN_THREADS) } : {}),
      ...(parseBuild(build).threads ? { scanThreads: parseBuild(build).threads } : {}),
    },
    ...(parseBuild(build).noSbom ? { monitor: { sbomReferrers: false } } : {}),
    log: { level: 'warn' },
  }));
  const metricsPorts = await Promise.all(Array.from({ length: workers + 1 }, () => freePort()));
  const procs = [spawnPortcullis(build, 'api', config, path.join(dir, 'api.log'), metricsPorts[0])];
  for (let w = 0; w < workers; w += 1) procs.push(spawnPortcullis(build, 'worker', config, path.join(dir, `worker-${w}.log`), metricsPorts[w + 1]));
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${base}/readyz`)).ok, 'the API', 180000);
    // A worker serves its metrics once it has started (scanners checked, scan threads warm,
    // queues joined): the burst, and the CPU measured, start only then, so that no process's
    // start-up is counted as work of the burst (a fixed wait of 1 s was not always enough with
    // two workers starting on a busy machine).
    if (servesMetrics(build)) await waitFor(async () => (await Promise.all(metricsPorts.slice(1).map((p) => fetch(`http://127.0.0.1:${p}/metrics`).then((r) => r.ok)))).every(Boolean), 'the workers', 180000);
    else await startedUp(procs.slice(1).map((p) => p.pid ?? 0));
    await new Promise((r) => setTimeout(r, 1000)); // workers join their queues
    const groups: Proc[] = [
      { name: 'portcullis', pids: () => procs.map((p) => p.pid ?? 0) },
      ...procs.map((p, i) => ({ name: i === 0 ? '  api' : `  worker-${i - 1}`, pids: () => [p.pid ?? 0] })),
      { name: 'registries', pids: () => [internal.pid, s.upstream.pid] },
      // Which side of the copy the registries' CPU is spent on: serving the upstream image, or
      // receiving it (and the SBOM referrers) in the internal one.
      { name: '  upstream', pids: () => [s.upstream.pid] },
      { name: '  internal', pids: () => [internal.pid] },
      { name: 'nginx', pids: () => [s.proxy.pid, ...children(s.proxy.pid)] },
      { name: 'redis', pids: () => [s.redis.pid] },
    ];
    const before = cpu(groups);
    const callsBefore = redisCalls(s.redis);
    const threadsBefore = procs.slice(1).map((p) => threadCpu(p.pid ?? 0));
    const t0 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < N; i += 20) {
      const batch = s.images.slice(i, i + 20).map((_, k) => api<{ id: string }>(base, token, 'POST', '/v1/requests',
        { image: `${HOST}/bench/img-${i + k}:1.0`, team: 'bench', justification: 'benchmark' }));
      ids.push(...(await Promise.all(batch)).map((r) => r.id));
    }
    const submitted = Date.now() - t0;
    // Requests the bench's own polling listed: the list reads each listed record (one HGET).
    let listed = 0;
    const done = async (): Promise<boolean> => {
      let n = 0;
      for (const status of ['awaiting_approval', 'failed']) {
        for (let cursor: string | null = ''; cursor !== null;) {
          const page: { items: unknown[]; next: string | null } = await api(base, token, 'GET', `/v1/requests?status=${status}&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
          n += page.items.length;
          listed += page.items.length;
          cursor = page.next;
        }
      }
      return n >= N;
    };
    for (const deadline = Date.now() + 60 * 60_000; !(await done().catch(() => false));) {
      if (Date.now() > deadline) throw new Error('timed out waiting for every request to be scanned');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    const after = cpu(groups);
    const callsAfter = redisCalls(s.redis);
    const threadsAfter = procs.slice(1).map((p) => threadCpu(p.pid ?? 0));
    const views = await Promise.all(ids.map((id) => api<RequestView>(base, token, 'GET', `/v1/requests/${id}`)));
    const failed = views.filter((v) => v.status !== 'awaiting_approval');
    if (failed.length) throw new Error(`${failed.length} requests did not reach awaiting_approval: ${JSON.stringify(failed[0].error)}`);
    // A build that skipped or failed its scans would look cheap: every request must have been scanned.
    const unscanned = views.filter((v) => !v.scans?.some((r) => r.scanner === 'builtin' && r.status === 'succeeded'));
    if (unscanned.length) throw new Error(`${unscanned.length} requests have no succeeded builtin scan: ${JSON.stringify(unscanned[0].scans)}`);
    const findings = views.reduce((n, v) => n + (v.scans?.find((r) => r.scanner === 'builtin')?.findings?.length ?? 0), 0);
    const start = Math.min(...views.map((v) => Date.parse(v.createdAt)));
    const ends = views.map((v) => Date.parse(v.history.find((h) => h.status === 'awaiting_approval')!.at));
    const total = (Math.max(...ends) - start) / 1000;
    const latency = views.map((v, i) => (ends[i] - Date.parse(v.createdAt)) / 1000).sort((a, b) => a - b);
    // Time a request spends once started (staging → awaiting_approval), and the most requests
    // started but not finished at one moment: with later steps first both stay small, whatever N.
    const staged = views.map((v) => Date.parse(v.history.find((h) => h.status === 'staging')!.at));
    const inFlight = views.map((_, i) => (ends[i] - staged[i]) / 1000).sort((a, b) => a - b);
    const events = views.flatMap((_, i) => [[staged[i], 1], [ends[i], -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let mostOpen = 0;
    for (const [, d] of events) mostOpen = Math.max(mostOpen, (open += d));
    const used = diff(after, before);
    const rss = procs.map((p) => peakRssMiB(p.pid ?? 0));
    const reads = await Promise.all(metricsPorts.slice(1).map((p) => stagedReads(p)));
    const steps = new Map<string, { sum: number; count: number }>();
    for (const w of await Promise.all(metricsPorts.slice(1).map((p) => stepTimes(p)))) {
      for (const [k, v] of w) steps.set(k, { sum: (steps.get(k)?.sum ?? 0) + v.sum, count: (steps.get(k)?.count ?? 0) + v.count });
    }
    console.log(`\n== ${workers} worker process(es), concurrency ${parseBuild(build).concurrency} each, ${N} requests${BUILDS.length > 1 ? `, build ${build}` : ''} ==`);
    console.log(`submitted in ${(submitted / 1000).toFixed(1)} s; burst total ${total.toFixed(1)} s; ${(N / total * 60).toFixed(0)} requests/min; every request scanned (${(findings / N).toFixed(1)} builtin findings per request)`);
    console.log(`request → awaiting_approval: p50 ${percentile(latency, 50).toFixed(1)} s (${(percentile(latency, 50) / total).toFixed(2)} of total), p95 ${percentile(latency, 95).toFixed(1)} s (${(percentile(latency, 95) / total).toFixed(2)} of total), first ${latency[0].toFixed(1)} s`);
    console.log(`started → awaiting_approval: p50 ${percentile(inFlight, 50).toFixed(1)} s, p95 ${percentile(inFlight, 95).toFixed(1)} s; at most ${mostOpen} requests between staging and awaiting_approval at once`);
    for (const [name, secs] of used) console.log(`CPU ${name.padEnd(11)} ${secs.toFixed(1)} s total, ${(secs / N * 1000).toFixed(0)} ms/request`);
    const { cpuPerReq: everyProcess, reqPerMin: ceiling } = ceilingOf(used);
    console.log(`CPU of every process ${(everyProcess * 1000).toFixed(0)} ms/request: on ${CORES} cores at most ${ceiling.toFixed(0)} requests/min; this run reached ${((N / total * 60) / ceiling * 100).toFixed(0)}% of it`);
    threadsAfter.forEach((t, w) => console.log(`  worker-${w} by thread: ${[...t].map(([k, v]) => [k, v - (threadsBefore[w].get(k) ?? 0)] as const)
      .filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / N * 1000).toFixed(0)} ms/request`).join(', ')}`));
    const hits = reads.reduce((n, r) => n + r.hit, 0);
    const misses = reads.reduce((n, r) => n + r.miss, 0);
    console.log(`staged-blob reads: ${hits} hits, ${misses} misses (hit rate ${(hits / Math.max(1, hits + misses)).toFixed(2)}; by worker ${reads.map((r) => `${r.hit}/${r.hit + r.miss}`).join(', ')})`);
    // Wall time of a step: the stage's own; the scan that follows it in the same job counts as scan.
    if (steps.size) console.log(`step wall time (mean): ${[...steps].map(([k, v]) => `${k} ${(v.sum / Math.max(1, v.count) * 1000).toFixed(0)} ms x${v.count}`).join(', ')}`);
    console.log(`peak RSS: api ${rss[0].toFixed(0)} MiB, workers ${rss.slice(1).map((r) => r.toFixed(0)).join(', ')} MiB`);
    // The bench's own calls (its polling of the list) are in these too, as its CPU is in the API's.
    const calls = [...callsAfter].map(([k, v]) => [k, v - (callsBefore.get(k) ?? 0)] as const).filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
    const all = calls.reduce((n, [, v]) => n + v, 0);
    console.log(`Redis commands: ${(all / N).toFixed(1)}/request, ${((all - listed) / N).toFixed(1)} without the bench's polling (~${(listed / N).toFixed(1)} HGET of listed records) (${calls.filter(([, v]) => v / N >= 0.5).map(([k, v]) => `${k} ${(v / N).toFixed(1)}`).join(', ')})`);
    return {
      build, workers, reqPerMin: N / total * 60, cpuPerReq: (used.get('portcullis') ?? 0) / N, ceiling,
      groups: new Map([...used].filter(([k]) => !k.startsWith(' ')).map(([k, v]) => [k, v / N])), p50Share: percentile(latency, 50) / total, redisPerReq: (all - listed) / N,
    };
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    await internal.stop();
  }
}

/** `skopeo copy` of every image through the proxy (two at a time) and `zcat` of every layer: CPU of the children. */
async function runFloor(s: Shared): Promise<{ cpuPerReq: number }> {
  const internal = await startRegistry({ name: 'bench-floor', dir: path.join(s.dir, 'floor-registry') });
  try {
    const list = path.join(s.dir, 'floor.txt');
    writeFileSync(list, s.images.map((_, i) => `bench/img-${i}:1.0`).join('\n'));
    const proxyHost = new URL(s.proxy.url).host;
    const internalHost = new URL(internal.url).host;
    const childCpu = (script: string): [number, number] => {
      const t = Date.now();
      const out = execFileSync('bash', ['-c', `${script}\ntimes`], { maxBuffer: 64 * MiB }).toString().trim().split('\n');
      // `times` prints the shell's own line, then its children's: "0m1.234s 0m0.567s".
      const secs = out[out.length - 1].split(/\s+/).map((x) => { const m = /(\d+)m([\d.]+)s/.exec(x)!; return Number(m[1]) * 60 + Number(m[2]); });
      return [secs[0] + secs[1], (Date.now() - t) / 1000];
    };
    const servers: Proc[] = [
      { name: 'registries', pids: () => [internal.pid, s.upstream.pid] },
      { name: '  upstream', pids: () => [s.upstream.pid] },
      { name: '  internal', pids: () => [internal.pid] },
      { name: 'nginx', pids: () => [s.proxy.pid, ...children(s.proxy.pid)] },
    ];
    const before = cpu(servers);
    const [skopeo, skopeoWall] = childCpu(`xargs -P 2 -I{} skopeo copy -q --src-tls-verify=false --dest-tls-verify=false docker://${proxyHost}/{} docker://${internalHost}/floor/{} < '${list}'`);
    const used = diff(cpu(servers), before);
    const layersDir = path.join(s.dir, 'layers');
    mkdirSync(layersDir, { recursive: true });
    let n = 0;
    for (const img of s.images) for (const l of img.layers) writeFileSync(path.join(layersDir, `${n++}.gz`), l.data);
    const [zcat, zcatWall] = childCpu(`for f in '${layersDir}'/*.gz; do zcat "$f"; done > /dev/null`);
    console.log(`\n== floor: skopeo copy (2 at a time) + zcat of the layers, ${N} images ==`);
    console.log(`skopeo copy: ${skopeoWall.toFixed(1)} s wall, CPU ${skopeo.toFixed(1)} s, ${(skopeo / N * 1000).toFixed(0)} ms/image; registries ${(used.get('registries') ?? 0).toFixed(1)} s (upstream ${(used.get('  upstream') ?? 0).toFixed(1)} s, internal ${(used.get('  internal') ?? 0).toFixed(1)} s), nginx ${(used.get('nginx') ?? 0).toFixed(1)} s`);
    console.log(`zcat: ${zcatWall.toFixed(1)} s wall, CPU ${zcat.toFixed(1)} s, ${(zcat / N * 1000).toFixed(0)} ms/image`);
    return { cpuPerReq: (skopeo + zcat) / N };
  } finally {
    await internal.stop();
  }
}

async function main(): Promise<void> {
  const dir = tempDir('bench-pipeline');
  const [redis, upstream] = await Promise.all([startRedis({ dir: path.join(dir, 'redis') }), startRegistry({ name: 'bench-upstream', dir: path.join(dir, 'upstream') })]);
  const proxy = await startNginx({ upstream: upstream.url, name: 'bench-proxy', dir: path.join(dir, 'proxy') });
  try {
    console.log(`building and pushing ${N} distinct images of ~${IMAGE_BYTES / MiB} MiB ...`);
    const images: BuiltImage[] = [];
    for (let i = 0; i < N; i += 1) {
      const img = await makeImage(i);
      await pushImage(upstream.url, `bench/img-${i}`, '1.0', img);
      images.push(img);
    }
    const compressed = images.reduce((s, img) => s + img.layers.reduce((t, l) => t + l.size, 0), 0);
    console.log(`pushed: ${(compressed / MiB).toFixed(0)} MiB of gzip layers in all`);
    const shared: Shared = { redis, upstream, proxy, images, dir };
    const floor = process.env.BENCH_SKIP_FLOOR === '1' ? null : await runFloor(shared);
    const results: Array<RunResult & { round: number }> = [];
    let runs = 0;
    for (let round = 0; round < ROUNDS; round += 1) for (const [l, workers] of LAYOUTS.entries()) {
      if (ROUNDS > 1 && l === 0) console.log(`\n-- round ${round + 1} of ${ROUNDS}`);
      // Alternate which build goes first, so that neither always runs on a fresher machine.
      for (const build of (l + round) % 2 === 0 ? BUILDS : [...BUILDS].reverse()) {
        // One build's failure (an old build that cannot run something) leaves the others' runs.
        const run = await runPipeline(shared, workers, build, runs++).catch((err: unknown) => {
          console.error(`\n== ${workers} worker process(es), build ${build}: failed: ${err instanceof Error ? err.message : String(err)}`);
          process.exitCode = 1;
          return null;
        });
        if (!run) continue;
        results.push({ ...run, round });
        if (floor) console.log(`Portcullis CPU per request / floor's: ${(run.cpuPerReq * 1000).toFixed(0)} ms / ${(floor.cpuPerReq * 1000).toFixed(0)} ms = ${(run.cpuPerReq / floor.cpuPerReq).toFixed(2)} (goal <= 1.3)`);
      }
    }
    if (BUILDS.length > 1 || ROUNDS > 1) {
      console.log('\n== summary: build, worker processes, requests/min, Portcullis CPU ms/request, ratio to the floor, p50/total, CPU ms/request of registries, nginx, Redis, Redis commands/request, ceiling requests/min ==');
      const ms = (r: RunResult, g: string): string => ((r.groups.get(g) ?? 0) * 1000).toFixed(0);
      for (const r of results) {
        console.log(`${r.build} ${r.workers} ${r.reqPerMin.toFixed(0)} ${(r.cpuPerReq * 1000).toFixed(0)} ${floor ? (r.cpuPerReq / floor.cpuPerReq).toFixed(2) : '-'} ${r.p50Share.toFixed(2)} ${ms(r, 'registries')} ${ms(r, 'nginx')} ${ms(r, 'redis')} ${r.redisPerReq.toFixed(0)} ${r.ceiling.toFixed(0)}`);
      }
    }
    if (ROUNDS > 1) printMedians(results, floor);
  } finally {
    await Promise.all([redis.stop(), upstream.stop(), proxy.stop()]);
    if (process.env.BENCH_NODE_ARGS) {
      // The logs only: the registries' and Redis's data (gigabytes) go.
      for (const entry of readdirSync(dir)) if (!entry.startsWith('run-')) rmSync(path.join(dir, entry), { recursive: true, force: true });
      console.log(`logs kept in ${dir}`);
    } else rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
