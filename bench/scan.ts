/**
 * Benchmark (not a test): the builtin scan of a ~512 MiB image against merely decompressing
 * the same layers with `zcat > /dev/null`. Goal: scan time ≤ 1.1 × zcat time, with every analyzer on (issue 12).
 *
 * The image has 8 gzip layers of 64 MiB each (uncompressed): incompressible random files and
 * compressible text, with realistic package databases among them (a dpkg status of 1,500
 * packages with Source fields, 2,000 npm manifests, 300 Python dist-infos). Layers are written
 * to a temp folder as streams. Two scans are timed: one served by a file-backed RegistryClient,
 * so both sides read the same local files and the figure measures the scanner alone; and one
 * as the pipeline runs it, from a real docker-registry through the Distribution client (HTTP
 * on loopback and the client's sha256 verification of every layer included).
 *
 * A second image measures the analyzers that read whole files or stream executables: 50 Go
 * executables and 200 JARs (see {@link analyzerFiles}), against zcat of its one layer.
 *
 * Run: `npm run bench:scan` (builds first). Env: BENCH_LAYERS, BENCH_LAYER_MIB to resize,
 * BENCH_OSV for another OSV folder.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, createReadStream, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { DistributionClient } from '../src/registry';
import type { ManifestResponse, RegistryClient } from '../src/registry/types';
import { pushBlob, pushManifest } from '../test/harness/images';
import { storedZip } from '../test/harness/zip';
import { startRegistry } from '../test/harness/registry';
import { realworld } from '../test/harness/realworld';
import { BuiltinScanner } from '../src/scanners';
import { median } from './stats';

const MiB = 1024 * 1024;
const LAYERS = Number(process.env.BENCH_LAYERS ?? 8);
const LAYER_BYTES = Number(process.env.BENCH_LAYER_MIB ?? 64) * MiB;
const OSV = process.env.BENCH_OSV ?? path.join(__dirname, '..', '..', 'test', 'fixtures', 'osv', 'db');
/** Timed runs of each side; the median is reported (the machine is shared), and the best. */
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/**
 * Real Go executables from Debian packages the project installs (scripts/debian-packages.sh):
 * each has its own build info (`path cmd/compile`, `path github.com/containers/skopeo/cmd/skopeo`…).
 */
const GO_BINARIES = process.env.BENCH_GO_BINARIES?.split(':') ?? [
  '/usr/bin/skopeo', '/usr/bin/podman', '/usr/bin/docker-registry', '/usr/bin/prometheus', '/usr/bin/promtool',
  ...goToolchainExecutables(),
];

/** golang-go's own executables: `go`, `gofmt` and the tools under pkg/tool (compile, link, vet…). */
function goToolchainExecutables(): string[] {
  const goroot = spawnSync('go', ['env', 'GOROOT'], { encoding: 'utf8' }).stdout?.trim();
  if (!goroot) return [];
  const tools = path.join(goroot, 'pkg', 'tool', `linux_amd64`);
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : []);
  return [...list(path.join(goroot, 'bin')), ...list(tools)].filter((f) => statSync(f).isFile());
}

interface BlobFile {
  digest: string;
  size: number;
  file: string;
}

function dpkgStatus(n: number): string {
  return Array.from({ length: n }, (_, i) =>
    [`Package: lib${i}`, 'Status: install ok installed', `Source: src${i % 400}`, `Version: 1.${i}.0-1+deb12u1`,
      'Architecture: amd64', `Description: package ${i}`, ' long description line', ''].join('\n'),
  ).join('\n');
}

/** Files of one layer: package databases where they belong, then filler up to `bytes`. */
function* layerFiles(index: number, bytes: number): Generator<[string, Buffer]> {
  let total = 0;
  const emit = (name: string, data: Buffer): [string, Buffer] => {
    total += data.length;
    return [name, data];
  };
  if (index === 0) {
    yield emit('etc/os-release', Buffer.from('ID=debian\nVERSION_ID="12"\n'));
    yield emit('var/lib/dpkg/status', Buffer.from(dpkgStatus(1500)));
  }
  if (index === 3) {
    for (let i = 0; i < 2000; i += 1) {
      yield emit(`app/node_modules/pkg-${i}/package.json`, Buffer.from(JSON.stringify({ name: `pkg-${i}`, version: `1.0.${i}`, description: 'x'.repeat(200) })));
    }
    yield emit('app/node_modules/lodash/package.json', Buffer.from('{"name":"lodash","version":"4.17.20"}'));
  }
  if (index === 5) {
    for (let i = 0; i < 300; i += 1) {
      yield emit(`usr/lib/python3/dist-packages/p${i}-1.0.dist-info/METADATA`, Buffer.from(`Name: p${i}\nVersion: 1.0.${i}\n\n${'d'.repeat(2000)}`));
    }
  }
  const text = Buffer.from('lorem ipsum dolor sit amet, consectetur adipiscing elit; '.repeat(18000)); // ~1 MiB
  for (let i = 0; total < bytes; i += 1) {
    yield emit(`data/l${index}/f${i}.bin`, i % 5 < 3 ? randomBytes(MiB) : text);
  }
}

/**
 * The analyzers' image: 50 Go executables (the real Debian ones of {@link GO_BINARIES}, each
 * distinct build info, taken in turn; mode 755, so each is streamed through the build-info
 * search) and 200 JARs (pom.properties plus 256 KiB of incompressible class-like bytes each,
 * read whole and opened as zips).
 */
function* analyzerFiles(): Generator<[string, Buffer, number?]> {
  const go = GO_BINARIES.map((f) => readFileSync(f));
  for (let i = 0; i < 50; i += 1) yield [`usr/local/bin/tool${i}`, go[i % go.length]!, 0o755];
  for (let i = 0; i < 200; i += 1) {
    const pom = `groupId=org.bench\nartifactId=lib${i}\nversion=1.${i}.0\n`;
    yield [`app/lib/lib${i}-1.${i}.0.jar`, storedZip({ [`META-INF/maven/org.bench/lib${i}/pom.properties`]: pom, 'lib/Code.class': randomBytes(256 * 1024) })];
  }
}

async function writeLayer(dir: string, index: number, files: Iterable<[string, Buffer, number?]> = layerFiles(index, LAYER_BYTES), level?: number): Promise<BlobFile> {
  const file = path.join(dir, `layer${index}.tar.gz`);
  const tar = pack();
  const gz = createGzip(level === undefined ? {} : { level });
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  gz.on('data', (c: Buffer) => hash.update(c));
  tar.pipe(gz).pipe(out);
  // Listened to from the start: a full disk fails this write (every entry waits on it too, a
  // stalled pipe never answers), and the caller's cleanup runs instead of a crash.
  const written = finished(out);
  written.catch(() => undefined);
  for (const [name, data, mode] of files) {
    const entry = new Promise<void>((resolve, reject) => tar.entry({ name, size: data.length, ...(mode ? { mode } : {}) }, data, (e) => (e ? reject(e) : resolve())));
    await Promise.race([entry, written]);
  }
  tar.finalize();
  await written;
  return { digest: `sha256:${hash.digest('hex')}`, size: statSync(file).size, file };
}

/** Serves one image from files: the manifest and config from memory, layers from disk. */
class FileRegistry implements RegistryClient {
  readonly url = 'file://bench';
  constructor(private readonly manifest: ManifestResponse, private readonly blobs: Map<string, Buffer | string>) {}
  async ping(): Promise<void> {}
  async headManifest() { return null; }
  async getManifest(): Promise<ManifestResponse> { return this.manifest; }
  async putManifest(): Promise<string> { throw new Error('read-only'); }
  async deleteManifest(): Promise<void> { throw new Error('read-only'); }
  async headBlob() { return null; }
  async getBlob(_repo: string, digest: string): Promise<Readable> {
    const b = this.blobs.get(digest);
    if (b === undefined) throw new Error(`unknown blob ${digest}`);
    return typeof b === 'string' ? createReadStream(b, { highWaterMark: MiB }) : (await import('node:stream')).Readable.from([b]);
  }
  async listTags(): Promise<string[]> { return []; }
}

/** A single-manifest image over layer files, served by a {@link FileRegistry}. */
function imageOf(layers: BlobFile[]): { registry: FileRegistry; digest: string; body: Buffer; config: Buffer; configDigest: string } {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { User: '1000' }, rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const body = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
  }));
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const blobs = new Map<string, Buffer | string>([[configDigest, config], ...layers.map((l): [string, string] => [l.digest, l.file])]);
  return { registry: new FileRegistry({ digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: body.length, body }, blobs), digest, body, config, configDigest };
}

/** Wall and CPU time of one run, in ms. CPU is the process's (every scan thread included). */
interface Sample {
  wall: number;
  cpu: number;
}

const fmt = (samples: Sample[]): string =>
  `wall median ${median(samples.map((x) => x.wall)).toFixed(0)} ms (best ${Math.min(...samples.map((x) => x.wall)).toFixed(0)}), CPU median ${median(samples.map((x) => x.cpu)).toFixed(0)} ms`;

/** `zcat > /dev/null` of the layers once, timed by bash (wall, and the child's user + system CPU). */
function zcat(layers: BlobFile[]): Sample {
  const files = layers.map((l) => `'${l.file}'`).join(' ');
  const r = spawnSync('bash', ['-c', `TIMEFORMAT='%R %U %S'; time (zcat ${files} > /dev/null)`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`zcat failed: ${r.stderr}`);
  const [real, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { wall: real * 1000, cpu: (user + sys) * 1000 };
}

/** One scan, timed (wall, and the CPU of this process: the scan threads included). */
async function scanOnce(scanner: BuiltinScanner, target: RegistryClient, digest: string): Promise<{ sample: Sample; findings: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const report = await scanner.scan({ registry: target, repository: 'bench', digest, registryUrl: target.url });
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  if (report.status !== 'succeeded') throw new Error(`scan failed: ${JSON.stringify(report.error)}`);
  return { sample: { wall, cpu: (used.user + used.system) / 1000 }, findings: report.findings.length };
}

const ratio = (a: Sample[], b: Sample[], key: keyof Sample = 'wall'): number => median(a.map((x) => x[key])) / median(b.map((x) => x[key]));

/**
 * Runs the sides in turn, RUNS rounds (zcat, scan, scan…, then again): on a shared machine a
 * burst of load then falls on every side alike rather than on whichever ran during it.
 */
async function rounds(sides: Array<() => Promise<Sample>>): Promise<Sample[][]> {
  const out: Sample[][] = sides.map(() => []);
  for (let i = 0; i < RUNS; i += 1) {
    for (const [k, side] of sides.entries()) out[k]!.push(await side());
  }
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-bench-scan-'));
  try {
    console.log(`building ${LAYERS} layers of ${LAYER_BYTES / MiB} MiB in ${dir} ...`);
    const layers: BlobFile[] = [];
    for (let i = 0; i < LAYERS; i += 1) layers.push(await writeLayer(dir, i));
    const { registry, digest, body, config, configDigest } = imageOf(layers);
    const scanner = new BuiltinScanner({ name: 'bench', osvPath: OSV });
    await scanner.check();
    const compressed = layers.reduce((n, l) => n + l.size, 0);

    const real = await startRegistry({ name: 'bench-scan' });
    const client = new DistributionClient({ url: real.url });
    let findings = 0;
    let z: Sample[], local: Sample[], viaRegistry: Sample[];
    try {
      await pushBlob(real.url, 'bench', { digest: configDigest, data: config });
      for (const l of layers) await pushBlob(real.url, 'bench', { digest: l.digest, data: readFileSync(l.file) });
      await pushManifest(real.url, 'bench', digest, body, 'application/vnd.oci.image.manifest.v1+json');
      await scanOnce(scanner, registry, digest); // warm-up: the OSV data loaded, the threads started
      [z, local, viaRegistry] = await rounds([
        async () => zcat(layers),
        async () => { const r = await scanOnce(scanner, registry, digest); findings = r.findings; return r.sample; },
        async () => (await scanOnce(scanner, client, digest)).sample,
      ]) as [Sample[], Sample[], Sample[]];
    } finally {
      client.close();
      await real.stop();
      // The registry's storage holds a copy of every layer (about 300 MiB): never left in /tmp.
      rmSync(real.dir, { recursive: true, force: true });
    }
    const r = ratio(viaRegistry, z);
    console.log(`image: ${LAYERS} layers, ${(LAYERS * LAYER_BYTES) / MiB} MiB uncompressed, ${(compressed / MiB).toFixed(0)} MiB compressed; ${RUNS} rounds`);
    console.log(`zcat > /dev/null:              ${fmt(z)}`);
    console.log(`builtin scan, local files:     ${fmt(local)}, ${findings} findings, ratio ${ratio(local, z).toFixed(2)} (CPU ${ratio(local, z, 'cpu').toFixed(2)})`);
    console.log(`builtin scan, real registry:   ${fmt(viaRegistry)}, ratio ${r.toFixed(2)} (CPU ${ratio(viaRegistry, z, 'cpu').toFixed(2)})`);
    console.log(`ratio scan/zcat (registry):    ${r.toFixed(2)} (goal <= 1.1) ${r <= 1.1 ? 'OK' : 'ABOVE GOAL'}`);

    console.log(`building the analyzers' image (50 Go executables from ${GO_BINARIES.length} distinct Debian ones, 200 JARs) ...`);
    const mixed = [await writeLayer(dir, LAYERS, analyzerFiles(), 1)];
    const image = imageOf(mixed);
    // The real Go vulnerability database beside the fixture data, so the Go executables' stdlib
    // and modules are matched (and scored, or not) as in production.
    const goOsv = path.join(dir, 'osv-go');
    cpSync(OSV, goOsv, { recursive: true });
    cpSync(realworld('osv', 'Go', 'all.zip'), path.join(goOsv, 'go-all.zip'));
    const goScanner = new BuiltinScanner({ name: 'bench-go', osvPath: goOsv });
    await goScanner.check();
    let mixedFindings = 0;
    const [mz, ms] = await rounds([
      async () => zcat(mixed),
      async () => { const x = await scanOnce(goScanner, image.registry, image.digest); mixedFindings = x.findings; return x.sample; },
    ]) as [Sample[], Sample[]];
    const uncompressed = spawnSync('sh', ['-c', `zcat '${mixed[0]!.file}' | wc -c`]).stdout.toString().trim();
    console.log(`analyzers' image: ${(Number(uncompressed) / MiB).toFixed(0)} MiB uncompressed, ${(mixed[0]!.size / MiB).toFixed(0)} MiB compressed; ${RUNS} rounds`);
    console.log(`zcat > /dev/null:              ${fmt(mz)}`);
    console.log(`builtin scan, local files:     ${fmt(ms)}, ${mixedFindings} findings, ratio ${ratio(ms, mz).toFixed(2)} (CPU ${ratio(ms, mz, 'cpu').toFixed(2)})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
