/**
 * The local stack, run by `npm run stack` after scripts/stack.sh has installed and built:
 * Redis, the internal registry, a demo "outside" registry seeded with a small image, nginx
 * as the reverse proxy in front of it, and Portcullis (API and workers) with
 * config/local.yaml. State lives under .stack/ and is reused by the next run. Ctrl-C stops
 * everything.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../src/lib/config';
import { pushImage } from '../test/harness/images';
import { startNginx } from '../test/harness/nginx';
import { waitFor, type Service } from '../test/harness/proc';
import { startRedis } from '../test/harness/redis';
import { startRegistry } from '../test/harness/registry';
import { buildDemoImage, DEMO_REPOSITORY, DEMO_TAG } from './demo-image';

const ROOT = path.resolve(__dirname, '../..');
const STATE = path.join(ROOT, '.stack');
const LOCAL_CONFIG = path.join(ROOT, 'config/local.yaml');
const PORTS_OVERLAY = path.join(STATE, 'ports.yaml');

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
] as const;

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
    return out;
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

async function seedDemoImage(upstreamUrl: string): Promise<void> {
  const res = await fetch(`${upstreamUrl}/v2/${DEMO_REPOSITORY}/manifests/${DEMO_TAG}`, { method: 'HEAD' });
  if (res.ok) return;
  await pushImage(upstreamUrl, DEMO_REPOSITORY, DEMO_TAG, await buildDemoImage());
}

function startPortcullis(ports: Ports): { service: Service; exited: Promise<number | null> } {
  writeFileSync(PORTS_OVERLAY, YAML.stringify({
    server: { port: ports.api },
    redis: { url: `redis://127.0.0.1:${ports.redis}` },
    internalRegistry: { url: `http://127.0.0.1:${ports.registry}` },
    upstreams: [{ registry: 'demo.local', endpoint: `http://127.0.0.1:${ports.proxy}`, insecure: true }],
  }));
  const log = openSync(path.join(STATE, 'portcullis.log'), 'a');
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/main.js')], {
    cwd: ROOT,
    env: { ...process.env, PORTCULLIS_CONFIG: `${LOCAL_CONFIG},${PORTS_OVERLAY}`, PORTCULLIS_AUDIT_KEY: process.env.PORTCULLIS_AUDIT_KEY ?? 'local-demo:dHwxxHzG8F8CxMIHJKKaJITaFnnoK6UHY2vo19Vnjmg=' /* demo only: a public key, never for real use */ },
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
  // A waiver must expire in the future: a month from the day the stack started.
  const waiverExpiry = new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString().slice(0, 10);
  return `
Portcullis local stack is up (state in .stack/, service log in .stack/portcullis.log)
  API                 ${api}   (readyz: ${api}/readyz)
  internal registry   http://127.0.0.1:${ports.registry}
  demo upstream       demo.local → nginx http://127.0.0.1:${ports.proxy} → registry http://127.0.0.1:${ports.upstream}
  Redis               redis://127.0.0.1:${ports.redis}

Demo tokens (also in .stack/demo-tokens.env; run: source .stack/demo-tokens.env)
  developer  dev-alice     (team payments)  ${tokens.DEV_TOKEN}
  approver   approver-bob  (team payments)  ${tokens.APPROVER_TOKEN}
  ci robot   ci-payments   (team payments)  ${tokens.CI_TOKEN}

Try it (in another terminal, from this folder):
  source .stack/demo-tokens.env
  curl -s -H "Authorization: Bearer $DEV_TOKEN" -H 'Content-Type: application/json' \\
    -d '{"image":"${image}","team":"payments","justification":"demo"}' ${api}/v1/requests | tee /dev/stderr \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id' > .stack/last-id; ID=$(cat .stack/last-id)
  curl -s -H "Authorization: Bearer $APPROVER_TOKEN" ${api}/v1/queue
The sample OSV database (config/osv-sample) flags a critical, fixable zlib advisory in the demo
image, so the queue shows it with policy verdict "fail" and approving answers 409 WAIVERS_REQUIRED
until the approver waives it:
  curl -s -H "Authorization: Bearer $APPROVER_TOKEN" -H 'Content-Type: application/json' \\
    -d '{"findingId":"${DEMO_FINDING}","reason":"demo: accepted until the base image is rebuilt","expires":"${waiverExpiry}"}' \\
    ${api}/v1/requests/$ID/waivers
  curl -s -H "Authorization: Bearer $APPROVER_TOKEN" -H 'Content-Type: application/json' \\
    -d '{"comment":"looks good"}' ${api}/v1/requests/$ID/approve
Once promotion is done (a moment later), CI resolves the approved digest:
  curl -s -H "Authorization: Bearer $CI_TOKEN" -H 'Accept: text/plain' \\
    '${api}/v1/approved?image=${image}&team=payments'

The same with the CLI: PORTCULLIS_TOKEN=$DEV_TOKEN node dist/src/cli.js request ${image} --team payments \\
  --justification demo --wait   (then queue, waive, approve as $APPROVER_TOKEN; approved as $CI_TOKEN)

Ctrl-C stops everything.
`;
}

async function main(): Promise<void> {
  mkdirSync(STATE, { recursive: true });
  const ports = choosePorts();
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
    services.push(await startRegistry({ name: 'internal-registry', port: ports.registry, dir: path.join(STATE, 'internal-registry') }));
    const upstream = await startRegistry({ name: 'demo-upstream', port: ports.upstream, dir: path.join(STATE, 'demo-upstream') });
    services.push(upstream);
    services.push(await startNginx({ name: 'proxy', upstream: upstream.url, port: ports.proxy, dir: path.join(STATE, 'proxy') }));
    await seedDemoImage(upstream.url);
    const tokens = ensureTokens();
    const { service, exited } = startPortcullis(ports);
    services.push(service);
    void exited.then((code) => {
      if (stopping) return;
      process.stderr.write(`stack: portcullis exited with ${code}; see .stack/portcullis.log\n`);
      onSignal();
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${ports.api}/readyz`)).ok, 'portcullis /readyz', 60000);
    process.stdout.write(banner(ports, tokens));
  } catch (err) {
    process.stderr.write(`stack: ${(err as Error).message}\n`);
    await stopAll();
    process.exit(1);
  }
}

void main();
