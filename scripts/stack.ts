/**
 * The local stack, run by `npm run stack` after scripts/stack.sh has installed and built:
 * Redis, the internal registry, a demo "outside" registry seeded with a small image, nginx
 * as the reverse proxy in front of it, and Portcullis (API and workers) with
 * config/local.yaml. State lives under .stack/ and is reused by the next run. Ctrl-C stops
 * everything.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../src/lib/config';
import { pushImage } from '../test/harness/images';
import { startNginx } from '../test/harness/nginx';
import { waitFor, type Service } from '../test/harness/proc';
import { startRedis } from '../test/harness/redis';
import { startRegistry } from '../test/harness/registry';
import { buildDemoImage, DEMO_REPOSITORY, DEMO_TAG } from './demo-image';
import { seedCleanImage, seedConsoleDemo } from './stack-demo';

const ROOT = path.resolve(__dirname, '../..');
/** State folder; PORTCULLIS_STACK_DIR moves it (tests run a stack of their own). */
const STATE = path.resolve(ROOT, process.env.PORTCULLIS_STACK_DIR ?? '.stack');
const LOCAL_CONFIG = path.join(ROOT, 'config/local.yaml');
/** Written on every start: the ports and paths of this run, overlaid on config/local.yaml. */
const PORTS_OVERLAY = path.join(STATE, 'ports.yaml');
/** How a shell names a file under the repository: relative when inside it. */
const shown = (p: string) => (p.startsWith(`${ROOT}/`) ? path.relative(ROOT, p) : p);

interface Ports { api: number; redis: number; registry: number; upstream: number; proxy: number }

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[`PORTCULLIS_STACK_${name}_PORT`];
  if (!raw) return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`PORTCULLIS_STACK_${name}_PORT must be a port number, not '${raw}'`);
  return port;
}

/** Defaults from config/local.yaml; PORTCULLIS_STACK_<NAME>_PORT overrides each. */
function choosePorts(): Ports {
  const cfg = loadConfig({ file: LOCAL_CONFIG, env: {} });
  const proxy = cfg.upstreams.find((u) => u.registry === 'demo.local');
  return {
    api: portFromEnv('API', cfg.server.port),
    redis: portFromEnv('REDIS', Number(new URL(cfg.redis.url).port)),
    registry: portFromEnv('REGISTRY', Number(new URL(cfg.internalRegistry.url).port)),
    upstream: portFromEnv('UPSTREAM', 5001),
    proxy: portFromEnv('PROXY', Number(new URL(proxy?.endpoint ?? 'http://127.0.0.1:8081').port)),
  };
}

const DEMO_PRINCIPALS = [
  { name: 'dev-alice', roles: ['developer'], teams: ['payments'], env: 'DEV_TOKEN' },
  { name: 'approver-bob', roles: ['approver'], teams: ['payments'], env: 'APPROVER_TOKEN' },
  { name: 'ci-payments', roles: ['ci'], teams: ['payments'], env: 'CI_TOKEN' },
  { name: 'admin-carol', roles: ['admin'], teams: ['*'], env: 'ADMIN_TOKEN' },
  { name: 'auditor-dan', roles: ['auditor'], teams: ['*'], env: 'AUDITOR_TOKEN' },
] as const;

/** Whether something already listens on 127.0.0.1:port (or on every address). */
async function portBusy(port: number): Promise<boolean> {
  const connects = await new Promise<boolean>((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
  if (connects) return true;
  return new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(false)));
  });
}

const PORT_VARS: Record<keyof Ports, string> = {
  api: 'PORTCULLIS_STACK_API_PORT', redis: 'PORTCULLIS_STACK_REDIS_PORT', registry: 'PORTCULLIS_STACK_REGISTRY_PORT',
  upstream: 'PORTCULLIS_STACK_UPSTREAM_PORT', proxy: 'PORTCULLIS_STACK_PROXY_PORT',
};

/**
 * Refuses to start on a busy port, naming it: readiness is "the port answers", which another
 * program (a second stack, Debian's systemd docker-registry on :5000) would answer for us.
 */
async function checkPorts(ports: Ports): Promise<void> {
  const busy: string[] = [];
  for (const [name, port] of Object.entries(ports) as Array<[keyof Ports, number]>) {
    if (await portBusy(port)) busy.push(`  ${name.padEnd(8)} 127.0.0.1:${port} is in use (set ${PORT_VARS[name]} to move it)`);
  }
  if (busy.length) {
    const systemd = ports.registry === 5000 && busy.some((b) => b.includes(':5000 ')) ? '\n  Debian runs docker-registry as a service on :5000: systemctl stop docker-registry, or move the port.' : '';
    throw new Error(`ports in use, nothing started:\n${busy.join('\n')}${systemd}\n  (see what holds one: ss -ltnp 'sport = :PORT'; another stack? Ctrl-C it first)`);
  }
}

/** Tokens are made once; the tokens file holds only their SHA-256, the plain ones go to a 0600 file. */
function ensureTokens(): Record<string, string> {
  const envFile = path.join(STATE, 'demo-tokens.env');
  const tokensFile = path.join(STATE, 'tokens.yaml');
  if (existsSync(envFile) && existsSync(tokensFile)) {
    const out: Record<string, string> = {};
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const m = /^export (\w+)=(\S+)$/.exec(line);
      if (m) out[m[1]] = m[2];
    }
    // A state folder from before a role was added gets a fresh set, so every role has a token.
    if (DEMO_PRINCIPALS.every((p) => out[p.env])) return out;
  }
  const tokens: Record<string, string> = {};
  const principals = DEMO_PRINCIPALS.map((p) => {
    const token = `pc_${randomBytes(24).toString('base64url')}`;
    tokens[p.env] = token;
    return { name: p.name, roles: [...p.roles], teams: [...p.teams], tokenSha256: createHash('sha256').update(token).digest('hex') };
  });
  writeFileSync(tokensFile, `# Demo principals of the local stack; tokens stored as SHA-256 only.\n${YAML.stringify(principals)}`, { mode: 0o600 });
  writeFileSync(envFile, Object.entries(tokens).map(([k, v]) => `export ${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  return tokens;
}

/** The audit key of the service and of `audit verify`. Demo only: a public key, never for real use. */
const AUDIT_KEY = process.env.PORTCULLIS_AUDIT_KEY ?? 'local-demo:dHwxxHzG8F8CxMIHJKKaJITaFnnoK6UHY2vo19Vnjmg=';

/**
 * demo-tokens.env also says where this run is (PORTCULLIS_URL for the CLI, PORTCULLIS_CONFIG for
 * `audit verify` and `vulndb`), rewritten on every start since the ports may change.
 */
function writeEnvFile(ports: Ports, tokens: Record<string, string>): void {
  const lines = [
    ...DEMO_PRINCIPALS.map((p) => `export ${p.env}=${tokens[p.env]}`),
    `export PORTCULLIS_URL=http://127.0.0.1:${ports.api}`,
    `export PORTCULLIS_CONFIG=${LOCAL_CONFIG},${PORTS_OVERLAY}`,
    `export PORTCULLIS_AUDIT_KEY=${AUDIT_KEY}`,
  ];
  writeFileSync(path.join(STATE, 'demo-tokens.env'), `${lines.join('\n')}\n`, { mode: 0o600 });
}

const noDocs = (src: string): boolean => !/\.md$/i.test(src);

/**
 * The builtin scanner reads a copy of the sample OSV database under the state folder, so that
 * `vulndb sync` (whose default target is the scanner's osvPath) never replaces git-tracked files.
 * Its scheduled sync (every minute) refreshes that copy from a feed folder, also under the state
 * folder and first a copy of the same sample: new data put there (the demo's advisory, or OSV
 * files of your own) reaches the scanner and re-matches the approved digests within a minute.
 */
function seedOsv(): { osvPath: string; feed: string } {
  const to = path.join(STATE, 'osv');
  const feed = path.join(STATE, 'osv-feed');
  if (!existsSync(to)) cpSync(path.join(ROOT, 'config/osv-sample'), to, { recursive: true, filter: noDocs });
  if (!existsSync(feed)) cpSync(path.join(ROOT, 'config/osv-sample'), feed, { recursive: true, filter: noDocs });
  return { osvPath: to, feed };
}

/** Publishes config/osv-demo-update/ (a real advisory against the approved demo image) to the feed. */
function publishDemoAdvisory(feed: string): void {
  cpSync(path.join(ROOT, 'config/osv-demo-update'), feed, { recursive: true, filter: noDocs });
}

async function seedDemoImage(upstreamUrl: string): Promise<void> {
  const res = await fetch(`${upstreamUrl}/v2/${DEMO_REPOSITORY}/manifests/${DEMO_TAG}`, { method: 'HEAD' });
  if (res.ok) return;
  await pushImage(upstreamUrl, DEMO_REPOSITORY, DEMO_TAG, await buildDemoImage());
}

function startPortcullis(ports: Ports, osv: { osvPath: string; feed: string }): { service: Service; exited: Promise<number | null> } {
  writeFileSync(PORTS_OVERLAY, YAML.stringify({
    server: { port: ports.api },
    redis: { url: `redis://127.0.0.1:${ports.redis}` },
    internalRegistry: { url: `http://127.0.0.1:${ports.registry}` },
    upstreams: [{ registry: 'demo.local', endpoint: `http://127.0.0.1:${ports.proxy}`, insecure: true }],
    scanners: [{ name: 'builtin', type: 'builtin', osvPath: osv.osvPath, sync: { from: [osv.feed], every: '1m' } }],
    auth: { tokensFile: path.join(STATE, 'tokens.yaml') },
    audit: { checkpointDir: path.join(STATE, 'audit-checkpoints') },
  }));
  const log = openSync(path.join(STATE, 'portcullis.log'), 'a');
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, PORTCULLIS_CONFIG: `${LOCAL_CONFIG},${PORTS_OVERLAY}`, PORTCULLIS_AUDIT_KEY: AUDIT_KEY },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    exited,
    service: {
      name: 'portcullis', dir: ROOT, pid: child.pid ?? -1,
      async stop() { if (child.exitCode === null) { child.kill('SIGTERM'); await exited; } },
    },
  };
}

/** The sample database's critical, fixable advisory on the demo image (config/osv-sample/README.md). */
const DEMO_FINDING = 'PCS-DEMO-2024-0001';

function banner(ports: Ports, tokens: Record<string, string>): string {
  const api = `http://127.0.0.1:${ports.api}`;
  const image = `demo.local/${DEMO_REPOSITORY}:${DEMO_TAG}`;
  const env = shown(path.join(STATE, 'demo-tokens.env'));
  const cli = 'node dist/src/cli.js';
  // A waiver must expire in the future: a month from the day the stack started.
  const waiverExpiry = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  return `
Portcullis local stack is up (state in ${shown(STATE)}/, service log in ${shown(path.join(STATE, 'portcullis.log'))})
  API                 ${api}   (readyz: ${api}/readyz)
  console             ${api}/ui   (sign in with a demo token below: developer, approver, admin or auditor)
  internal registry   http://127.0.0.1:${ports.registry}
  demo upstream       demo.local → nginx http://127.0.0.1:${ports.proxy} → registry http://127.0.0.1:${ports.upstream}
  Redis               redis://127.0.0.1:${ports.redis}

Demo tokens, one per role (also in ${env}, with PORTCULLIS_URL and PORTCULLIS_CONFIG)
  developer  dev-alice     (team payments)  ${tokens.DEV_TOKEN}
  approver   approver-bob  (team payments)  ${tokens.APPROVER_TOKEN}
  ci robot   ci-payments   (team payments)  ${tokens.CI_TOKEN}
  admin      admin-carol   (every team)     ${tokens.ADMIN_TOKEN}
  auditor    auditor-dan   (every team)     ${tokens.AUDITOR_TOKEN}

Try it with the CLI (in another terminal, from this folder):
  source ${env}
  PORTCULLIS_TOKEN=$DEV_TOKEN ${cli} whoami
  PORTCULLIS_TOKEN=$DEV_TOKEN ${cli} request ${image} --team payments --justification demo --wait
  ID=$(PORTCULLIS_TOKEN=$DEV_TOKEN ${cli} list --output json | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).items[0].id')
  PORTCULLIS_TOKEN=$APPROVER_TOKEN ${cli} queue
The sample OSV database flags a critical, fixable zlib advisory in the demo image, so the
verdict is "fail" and approving answers WAIVERS_REQUIRED until the approver waives it:
  PORTCULLIS_TOKEN=$APPROVER_TOKEN ${cli} waive $ID ${DEMO_FINDING} --reason 'demo: until the base image is rebuilt' --expires ${waiverExpiry}
  PORTCULLIS_TOKEN=$APPROVER_TOKEN ${cli} approve $ID --comment 'looks good'
Once promotion is done (a moment later), CI resolves the approved digest:
  PORTCULLIS_TOKEN=$CI_TOKEN ${cli} approved ${image} --team payments
The auditor reads the log; the chain is checked straight from Redis:
  curl -s -H "Authorization: Bearer $AUDITOR_TOKEN" "$PORTCULLIS_URL/v1/audit?limit=5"
  ${cli} audit verify
The same over HTTP: curl -s -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' \\
    -d '{"image":"${image}","team":"payments","justification":"demo"}' "$PORTCULLIS_URL/v1/requests"

Ctrl-C stops everything.
`;
}

async function main(): Promise<void> {
  mkdirSync(STATE, { recursive: true });
  const ports = choosePorts();
  try {
    await checkPorts(ports);
  } catch (err) {
    process.stderr.write(`stack: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const services: Service[] = [];
  const stopAll = async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstack: stopping…\n');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    services.push(await startRedis({ port: ports.redis, dir: path.join(STATE, 'redis'), appendonly: true }));
    // Upload purging on: sessions a killed worker could not cancel are removed after a day.
    services.push(await startRegistry({
      name: 'internal-registry', port: ports.registry, dir: path.join(STATE, 'internal-registry'),
      config: { storage: { filesystem: { rootdirectory: path.join(STATE, 'internal-registry', 'data') }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: true, age: '24h', interval: '1h', dryrun: false } } } },
    }));
    const upstream = await startRegistry({ name: 'demo-upstream', port: ports.upstream, dir: path.join(STATE, 'demo-upstream') });
    services.push(upstream);
    services.push(await startNginx({ name: 'proxy', upstream: upstream.url, port: ports.proxy, dir: path.join(STATE, 'proxy') }));
    await seedDemoImage(upstream.url);
    await seedCleanImage(upstream.url);
    const tokens = ensureTokens();
    writeEnvFile(ports, tokens);
    const osv = seedOsv();
    const { service, exited } = startPortcullis(ports, osv);
    services.push(service);
    let ready = false;
    void exited.then((code) => {
      // Before the banner, the start-up below fails (exit 1); after it, the stack stops.
      if (stopping || !ready) return;
      process.stderr.write(`stack: portcullis exited with ${code}; see ${shown(path.join(STATE, 'portcullis.log'))}\n`);
      onSignal();
    });
    // Ready means OUR process answers: if it exits first (a busy port, a bad config), that wins.
    await Promise.race([
      waitFor(async () => (await fetch(`http://127.0.0.1:${ports.api}/readyz`)).ok, 'portcullis /readyz', 60000),
      exited.then((code) => { throw new Error(`portcullis exited with ${code} before it was ready; see ${shown(path.join(STATE, 'portcullis.log'))}`); }),
    ]);
    ready = true;
    process.stdout.write(banner(ports, tokens));
    // Something for the console to show; after the banner, so a slow scan never delays it.
    seedConsoleDemo(`http://127.0.0.1:${ports.api}`, tokens, () => stopping, () => publishDemoAdvisory(osv.feed)).then(
      (done) => { if (done) process.stdout.write(`stack: console demo data: ${done}\n`); },
      (err: unknown) => { if (!stopping) process.stderr.write(`stack: console demo data not seeded: ${(err as Error).message}\n`); },
    );
  } catch (err) {
    process.stderr.write(`stack: ${(err as Error).message}\n`);
    stopping = true;
    await stopAll();
    process.exit(1);
  }
}

void main();
