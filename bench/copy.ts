/**
 * `npm run bench:copy`: portcullis copy against skopeo copy, registry to registry.
 *
 * An image of 8 layers × 64 MiB of incompressible data sits in one local docker-registry;
 * five times each, alternating, it is copied into a fresh repository of a second one with
 * `skopeo copy` (its blob-info cache deleted first, so it cannot mount or skip) and with the
 * built `portcullis copy`. The destination's storage is emptied between runs. Prints the
 * median times, the ratio portcullis/skopeo, and the peak RSS of `portcullis copy` for an
 * image with one 1 GiB layer (`/usr/bin/time -v`, else VmHWM from /proc). Not a test.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRegistry, type RegistryService } from '../test/harness/registry';
import { pushManifest } from '../test/harness/images';
import { median } from './stats';

const MIB = 1024 * 1024;
const RUNS = 5;
const CLI = path.resolve(__dirname, '../src/cli.js');

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Streams `size` random bytes into a blob upload without holding them all (PUT with a known length). */
async function pushRandomBlob(reg: RegistryService, repo: string, size: number): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let done = 0; done < size; done += 4 * MIB) {
    const c = randomBytes(Math.min(4 * MIB, size - done));
    hash.update(c);
    chunks.push(c);
  }
  const digest = `sha256:${hash.digest('hex')}`;
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = new URL(start.headers.get('location') ?? '', reg.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: Buffer.concat(chunks), headers: { 'content-type': 'application/octet-stream' } });
  if (put.status !== 201) throw new Error(`push blob: HTTP ${put.status} ${await put.text()}`);
  return { digest, size };
}

async function pushRandomImage(reg: RegistryService, repo: string, layers: number, layerSize: number): Promise<string> {
  const descs = [];
  for (let i = 0; i < layers; i++) descs.push(await pushRandomBlob(reg, repo, layerSize));
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) },
  }));
  const c = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await c.arrayBuffer();
  const loc = new URL(c.headers.get('location') ?? '', reg.url);
  loc.searchParams.set('digest', sha256(config));
  await (await fetch(loc, { method: 'PUT', body: config })).arrayBuffer();
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: descs.map((d) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: d.digest, size: d.size })),
  }));
  await pushManifest(reg.url, repo, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  return sha256(manifest);
}

function run(cmd: string, args: string[]): Promise<{ ms: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORTCULLIS_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve({ ms, stdout, stderr });
      else reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}\n${stderr}`));
    });
  });
}

/** skopeo's blob-info cache, for root and rootless, so that no run learns from the previous one. */
function clearSkopeoCache(): void {
  for (const dir of ['/var/lib/containers/cache', path.join(os.homedir(), '.local/share/containers/cache')]) {
    rmSync(path.join(dir, 'blob-info-cache-v1.boltdb'), { force: true });
    rmSync(path.join(dir, 'blob-info-cache-v1.sqlite'), { force: true });
  }
}

/** Empties the destination's storage so every run writes every byte (and the disk does not fill). */
function emptyStorage(reg: RegistryService): void {
  rmSync(path.join(reg.storageDir, 'docker'), { recursive: true, force: true });
}

async function peakRss(args: string[]): Promise<number> {
  if (existsSync('/usr/bin/time')) {
    const { stderr } = await run('/usr/bin/time', ['-v', process.execPath, ...args]);
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
    if (m) return Number(m[1]) * 1024;
  }
  // Fallback: poll VmHWM (the kernel's own peak) until the process exits.
  const child = spawn(process.execPath, args, { stdio: 'ignore' });
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch { /* exited */ }
  }, 20);
  await new Promise((resolve) => child.on('exit', resolve));
  clearInterval(timer);
  return peak;
}

async function main(): Promise<void> {
  const [src, dst] = await Promise.all([startRegistry({ name: 'bench-src' }), startRegistry({ name: 'bench-dst' })]);
  try {
    process.stdout.write('building 8 × 64 MiB image…\n');
    const digest = await pushRandomImage(src, 'bench/eight', 8, 64 * MIB);
    const times: Record<'skopeo' | 'portcullis', number[]> = { skopeo: [], portcullis: [] };
    for (let i = 0; i < RUNS; i++) {
      for (const tool of ['skopeo', 'portcullis'] as const) {
        emptyStorage(dst);
        const target = `${dst.host}/bench/${tool}-${i}:v1`;
        let r;
        if (tool === 'skopeo') {
          clearSkopeoCache();
          r = await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${src.host}/bench/eight:v1`, `docker://${target}`]);
        } else {
          r = await run(process.execPath, [CLI, 'copy', '--quiet', '--src-insecure', '--dest-insecure', `${src.host}/bench/eight:v1`, target]);
          if (r.stdout.trim() !== digest) throw new Error(`portcullis printed ${r.stdout.trim()}, expected ${digest}`);
        }
        times[tool].push(r.ms);
        process.stdout.write(`run ${i + 1} ${tool.padEnd(10)} ${(r.ms / 1000).toFixed(2)} s\n`);
      }
    }
    emptyStorage(dst);
    process.stdout.write('building 1 × 1 GiB image…\n');
    emptyStorage(src);
    await pushRandomImage(src, 'bench/big', 1, 1024 * MIB);
    const rss = await peakRss([CLI, 'copy', '--quiet', '--src-insecure', '--dest-insecure', `${src.host}/bench/big:v1`, `${dst.host}/bench/big:v1`]);
    const ms = median(times.skopeo);
    const mp = median(times.portcullis);
    process.stdout.write([
      '',
      `image: 8 layers × 64 MiB, ${RUNS} runs each, alternating`,
      `skopeo copy      median ${(ms / 1000).toFixed(2)} s  (${times.skopeo.map((t) => (t / 1000).toFixed(2)).join(', ')})`,
      `portcullis copy  median ${(mp / 1000).toFixed(2)} s  (${times.portcullis.map((t) => (t / 1000).toFixed(2)).join(', ')})`,
      `ratio portcullis/skopeo: ${(mp / ms).toFixed(2)}  (goal ≤ 1.00)`,
      `peak RSS of portcullis copy, one 1 GiB layer: ${(rss / MIB).toFixed(1)} MiB  (goal ≤ 150 MiB)`,
      '',
    ].join('\n'));
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:copy failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
