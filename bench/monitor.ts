/**
 * Benchmark (not a test), issue 13: re-matching approved digests from their stored inventories
 * after the vulnerability data changed, against rescanning the same digests through the
 * registry, in the same run. Goal: the re-match of 1,000 digests a sync runs ≤ 30 s here, and
 * ≥ 20× faster than the rescan.
 *
 * Set-up (not timed): a real redis-server and docker-registry. N approved digests (default
 * 1,000), each with an inventory of 200–2,000 Python distributions whose names are the real
 * package names of the PyPI advisories in the real-world OSV corpus (3% of them at a version those
 * advisories list as affected, the rest at releases none covers), kept in Redis as the builtin
 * scanner keeps them (CycloneDX SBOM and its compact matching form, gzip). The data: yesterday's
 * is the real corpus (PyPI, Go, npm, Debian); today's is that corpus with a day's worth of OSV
 * changes applied (test/harness/osv-changes.ts; its size, per kind and ecosystem, is printed:
 * hundreds of records, Go and PyPI mostly, new advisories for packages the inventories hold
 * among them). A sync against yesterday's data ran first (untimed): every report is stored at
 * yesterday's version, and the re-match recorded what it matched.
 *
 * Timed, each with wall and CPU time: (1) the re-match a sync runs (RematchService.rematchAll,
 * as queue/vulndb-sync calls it): the data change diffed, only what it touched re-matched,
 * unchanged reports kept; (2) after the reports are put back at yesterday's version (untimed),
 * the full re-match (`{ full: true }`) of every digest against today's data; (3) the builtin
 * scanner's full scan of a sample of S digests (default 50, spread over the fleet's inventory
 * sizes) through the registry (each image
 * built with the same packages as dist-info files over a 64 MiB base layer, pushed before timing;
 * one untimed scan first, so thread start-up is not charged to the sample): the rescan of N is
 * that time scaled by N/S, and the output says so, with the sample's mean package count beside
 * the fleet's. The rescan is charged less than it would cost in production: its layers come
 * from a local registry's page cache, and its report and inventory are not written. CPU is this
 * process's (process.cpuUsage: scan threads included; Redis's and the registry's own processes
 * not). Everything it writes under /tmp is deleted at the end.
 *
 * Run: `npm run bench:monitor [-- --digests 50 --sample 10 --layer-mib 64 --vulnerable-share 0.03]`;
 * `--sample 0` skips the rescan (no ratio);
 * `--profile-sync file.cpuprofile` writes a V8 CPU profile of the sync's re-match (1) (its wall
 * then includes the profiler's cost).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Session } from 'node:inspector/promises';
import Redis from 'ioredis';
import { createLogger } from '../src/lib/logger';
import { RedisInventoryStore } from '../src/monitor/inventory-store';
import { ApprovedDigests } from '../src/monitor/approved-digests';
import { RematchService, type RematchResult } from '../src/monitor/rematch';
import { RedisRematchState } from '../src/monitor/rematch-state';
import type { OsvRecord } from '../src/scanners';
import { DistributionClient } from '../src/registry';
import { BuiltinScanner, type ScannedInventory } from '../src/scanners';
import { OsvDatabase } from '../src/scanners';
import { loadRecords } from '../src/scanners';
import type { InstalledPackage } from '../src/scanners';
import { summarize } from '../src/scanners/types';
import { RedisApprovalStore, RedisScanResultStore } from '../src/store';
import { changeRecords, type ChangePlan } from '../test/harness/osv-changes';
import { storedZip } from '../test/harness/zip';
import { buildImage, pushImage, tarOf, type BuiltImage } from '../test/harness/images';
import { realworld } from '../test/harness/realworld';
import { startRedis } from '../test/harness/redis';
import { startRegistry } from '../test/harness/registry';
import { rng } from '../test/harness/seeded';

const { values } = parseArgs({ options: { digests: { type: 'string', default: '1000' }, sample: { type: 'string', default: '50' }, seed: { type: 'string', default: '13' }, 'layer-mib': { type: 'string', default: '64' }, 'vulnerable-share': { type: 'string', default: '0.03' }, 'profile-sync': { type: 'string' } } });
const N = Number(values.digests);
const S = Math.min(N, Number(values.sample));
const LAYER_MIB = Number(values['layer-mib']);
/** Share of packages installed at a version an advisory lists as affected (the rest at releases no advisory covers). */
const VULNERABLE_SHARE = Number(values['vulnerable-share']);


interface Candidate { name: string; versions: string[] }

async function pypiCandidates(): Promise<Candidate[]> {
  const byName = new Map<string, Set<string>>();
  await loadRecords(realworld('osv', 'PyPI'), (r) => {
    for (const a of r.affected ?? []) {
      if (a.package.ecosystem !== 'PyPI' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(a.package.name)) continue;
      const set = byName.get(a.package.name) ?? new Set<string>();
      for (const v of (a.versions ?? []).slice(-5)) set.add(v);
      byName.set(a.package.name, set);
    }
  });
  return [...byName.entries()].map(([name, v]) => ({ name, versions: [...v] }));
}

function inventoryOf(i: number, candidates: Candidate[], rand: () => number): InstalledPackage[] {
  const count = 200 + Math.floor(rand() * 1801);
  const packages: InstalledPackage[] = [];
  for (let k = 0; k < count; k++) {
    const c = candidates[Math.floor(rand() * candidates.length)]!;
    const vulnerable = c.versions.length > 0 && rand() < VULNERABLE_SHARE;
    const version = vulnerable ? c.versions[Math.floor(rand() * c.versions.length)]! : `${90 + Math.floor(rand() * 9)}.${Math.floor(rand() * 20)}.0`;
    // Several virtualenvs, so a name may repeat within one image as it does in real ones.
    const env = k % 4;
    packages.push({ name: c.name, version, ecosystem: 'PyPI', path: `/opt/venv${env}/lib/python3.11/site-packages/${c.name}-${version}.dist-info/METADATA` });
  }
  void i;
  return packages;
}

/**
 * The digests whose rescan is timed: one per stratum of the fleet sorted by package count (the
 * middle of each), so that the sample holds small and large inventories as the fleet does. The
 * first S digests were taken before: with the default seed their mean was 1,221 packages
 * against the fleet's 1,117, which charged the rescan for 9% more packages than it would scan.
 */
function sampleOf(counts: readonly number[], size: number): Set<number> {
  const order = counts.map((c, i) => [c, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, i]) => i);
  const picked = new Set<number>();
  for (let k = 0; k < size; k++) picked.add(order[Math.floor(((k + 0.5) * order.length) / size)]!);
  return picked;
}

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/** A day of OSV changes: hundreds of records, in the proportions the feeds change them (Go and PyPI most). */
const DAILY: ChangePlan[] = [
  { ecosystem: 'Go', kind: 'metadata', count: 160 }, { ecosystem: 'Go', kind: 'references', count: 30 }, { ecosystem: 'Go', kind: 'severity', count: 15 },
  { ecosystem: 'Go', kind: 'range', count: 10 }, { ecosystem: 'Go', kind: 'alias', count: 5 }, { ecosystem: 'Go', kind: 'added', count: 20 }, { ecosystem: 'Go', kind: 'withdrawn', count: 3 },
  { ecosystem: 'PyPI', kind: 'metadata', count: 45 }, { ecosystem: 'PyPI', kind: 'references', count: 10 }, { ecosystem: 'PyPI', kind: 'title', count: 5 },
  { ecosystem: 'PyPI', kind: 'severity', count: 8 }, { ecosystem: 'PyPI', kind: 'range', count: 6 }, { ecosystem: 'PyPI', kind: 'alias', count: 3 },
  { ecosystem: 'PyPI', kind: 'added', count: 12 }, { ecosystem: 'PyPI', kind: 'withdrawn', count: 2 },
  { ecosystem: 'npm', kind: 'metadata', count: 2 }, { ecosystem: 'npm', kind: 'range', count: 1 }, { ecosystem: 'Debian', kind: 'metadata', count: 1 },
];

/** Writes records as one JSON file each, in order (the loader reads files sorted by name). */
/**
 * The records as the real corpus and osv.dev's exports lay them out: one `<ecosystem>/all.zip` per
 * ecosystem. (One file per record would charge every scan of the rescan a stat of each of
 * thousands of files when the scanner checks the data's fingerprint, which no real folder costs.)
 */
function writeRecords(dir: string, records: readonly OsvRecord[]): void {
  const byEcosystem = new Map<string, Record<string, string>>();
  records.forEach((r, i) => {
    const ecosystem = (r.affected?.[0]?.package?.ecosystem ?? 'other').split(':', 1)[0] || 'other';
    const entries = byEcosystem.get(ecosystem) ?? {};
    entries[`${String(i).padStart(6, '0')}-${r.id}.json`] = JSON.stringify(r);
    byEcosystem.set(ecosystem, entries);
  });
  for (const [ecosystem, entries] of byEcosystem) {
    mkdirSync(path.join(dir, ecosystem), { recursive: true });
    writeFileSync(path.join(dir, ecosystem, 'all.zip'), storedZip(entries));
  }
}

/** Runs `fn` under the V8 CPU profiler and writes the profile to `file` (for --profile-sync). */
async function profiled<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  const value = await fn();
  return { value, wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: cpuSeconds(cpu) };
}

async function main(): Promise<void> {
  const redisSvc = await startRedis();
  const registrySvc = await startRegistry({ name: 'bench-monitor-registry' });
  const redis = new Redis(redisSvc.url, { maxRetriesPerRequest: 3 });
  const prefix = 'bench-monitor';
  const logger = createLogger({ level: 'silent' });
  const work = mkdtempSync(path.join(tmpdir(), 'portcullis-bench-monitor-'));
  try {
    const records: OsvRecord[] = [];
    await loadRecords(realworld('osv'), (r) => records.push(r));
    const rand = rng(Number(values.seed));
    const today = changeRecords(records, DAILY, rng(Number(values.seed) + 1), 'bench');
    const oldPath = path.join(work, 'osv-yesterday');
    const osv = path.join(work, 'osv-today');
    writeRecords(oldPath, records);
    writeRecords(osv, today.records);
    const candidates = await pypiCandidates();
    const [oldDb, db] = await Promise.all([OsvDatabase.load(oldPath), OsvDatabase.load(osv)]);
    process.stdout.write(`OSV: yesterday ${oldDb.loadStats.records} real advisories; ${candidates.length} distinct PyPI package names in the inventories\n`);
    process.stdout.write(`data change: ${today.changed} records (${DAILY.map((p) => `${p.ecosystem} ${p.kind} ${p.count}`).join(', ')}); today ${db.loadStats.records} records\n`);

    const inventories = new RedisInventoryStore(redis, prefix, { registryHost: registrySvc.host });
    const results = new RedisScanResultStore(redis, prefix);
    const approvals = new RedisApprovalStore(redis, prefix);
    // The sampled images' base layer: what makes an image an image (binaries, libraries, data),
    // half incompressible, half text; built once, pushed with each sampled image.
    const half = Math.floor((LAYER_MIB * 1024 * 1024) / 2);
    const text = Buffer.from(Array.from({ length: Math.ceil(half / 64) }, (_, i) => `line ${i} of a configuration or source file, padded\n`).join('').slice(0, half));
    const filler = gzipSync(await tarOf({ 'usr/lib/libbase.so': randomBytes(half), 'usr/share/doc/base.txt': text }), { level: 6 });
    const images: Array<{ digest: string; repository: string; packages: InstalledPackage[]; image?: BuiltImage }> = [];
    let totalPackages = 0;
    const fleet = Array.from({ length: N }, (_, i) => inventoryOf(i, candidates, rand));
    const sampled = sampleOf(fleet.map((p) => p.length), S);
    for (let i = 0; i < N; i++) {
      const packages = fleet[i]!;
      totalPackages += packages.length;
      const repository = `quarantine/bench/app${i}`;
      let image: BuiltImage | undefined;
      let digest: string;
      if (sampled.has(i)) {
        // The sampled digests are real images in the registry, with these packages as files.
        const files: Record<string, string> = {};
        for (const p of packages) files[p.path.slice(1)] = `Metadata-Version: 2.1\nName: ${p.name}\nVersion: ${p.version}\n\n`;
        image = await buildImage({ layers: [{ files: {}, raw: filler }, { files }], config: { User: '1000' } });
        await pushImage(registrySvc.url, repository, undefined, image);
        digest = image.digest;
        for (const p of packages) p.layer = image.layers[1]!.digest;
      } else {
        digest = `sha256:${i.toString(16).padStart(64, '0')}`;
      }
      images.push({ digest, repository, packages, ...(image ? { image } : {}) });
      const scanned: ScannedInventory = {
        scanner: 'builtin', digest, repository, scannedAt: new Date().toISOString(), dbVersion: 'osv-old',
        images: [{ manifestDigest: digest, packages, coverage: [], hardening: [] }],
      };
      await inventories.put(inventories.toStored(scanned));
      await results.put(digest, { scanner: 'builtin', status: 'succeeded', summary: summarize([]), findings: [], startedAt: scanned.scannedAt, finishedAt: scanned.scannedAt, dbVersion: 'osv-old' });
      await approvals.put({
        team: 'bench', digest, image: `docker.io/bench/app${i}`, tags: ['1.0'], platforms: [], internalRef: `${registrySvc.host}/approved/bench/app${i}@${digest}`,
        internalRepository: `approved/bench/app${i}`, internalTag: '1.0', approvedAt: new Date().toISOString(), approvedBy: ['bench'], requestId: `bench-${i}`,
      });
    }
    process.stdout.write(`${N} approved digests, ${totalPackages} packages in all (${Math.round(totalPackages / N)} per digest on average)\n`);

    // Yesterday's sync (untimed): every report at yesterday's version, what was matched recorded.
    let events = 0;
    const state = new RedisRematchState(redis, prefix);
    const rematch = new RematchService({ inventories, state, approved: new ApprovedDigests(redis, prefix), events: { publish: async () => { events += 1; } }, logger });
    const yesterday = { name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-yesterday', db: oldDb }) };
    const todays = { name: 'builtin', vulnerabilityData: async () => ({ version: 'osv-today', db }) };
    await rematch.rematchAll(yesterday);
    const describe = (r: RematchResult, t: { wall: number; cpu: number }): string =>
      `${r.mode}${r.fullReason ? ` (${r.fullReason})` : ''}${r.changedKeys !== undefined ? `, ${r.changedKeys} index keys touched by the change` : ''}: ${r.rematched}/${r.digests} digests brought to today's data, ${r.changed} with changed findings (${events} findings.updated events), ${r.rewritten} findings texts changed (${r.whole} digests re-matched whole, the others edited in place), ${r.digests - r.rewritten} kept: wall ${t.wall.toFixed(2)} s, CPU ${t.cpu.toFixed(2)} s`;

    // (1) The re-match a sync runs.
    events = 0;
    const profile = values['profile-sync'];
    const sync = await timed(() => (profile ? profiled(profile, () => rematch.rematchAll(todays)) : rematch.rematchAll(todays)));
    process.stdout.write(`(1) re-match as a sync runs it: ${describe(sync.value, sync)}\n`);
    const syncEvents = events;

    // (2) Back to yesterday (untimed), then the full re-match of every digest.
    await rematch.rematchAll(yesterday, { full: true });
    events = 0;
    const full = await timed(() => rematch.rematchAll(todays, { full: true }));
    process.stdout.write(`(2) full re-match: ${describe(full.value, full)}\n`);
    if (full.value.changed !== sync.value.changed || events !== syncEvents) throw new Error(`the sync's re-match and the full one disagree: ${sync.value.changed} vs ${full.value.changed} changed`);

    // (3) Full rescan of a sample through the registry, same data (`--sample 0`: none, while iterating on the re-match).
    if (S === 0) return;
    const scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv, hardening: true });
    await scanner.check();
    const client = new DistributionClient({ url: registrySvc.url });
    const sample = images.filter((_, i) => sampled.has(i));
    // One untimed scan first: the scan threads start and the code is compiled once per process,
    // not once per digest, so the timed scans cost what each further digest costs.
    await scanner.scan({ registry: client, repository: sample[0]!.repository, digest: sample[0]!.digest, registryUrl: registrySvc.url });
    const cpu2 = process.cpuUsage();
    const t2 = process.hrtime.bigint();
    for (const img of sample) {
      const report = await scanner.scan({ registry: client, repository: img.repository, digest: img.digest, registryUrl: registrySvc.url });
      if (report.status !== 'succeeded') throw new Error(`rescan of ${img.digest} failed: ${report.error?.message}`);
    }
    const sampleWall = Number(process.hrtime.bigint() - t2) / 1e9;
    const sampleCpu = cpuSeconds(cpu2);
    const scale = N / S;
    const rescanWall = sampleWall * scale;
    const rescanCpu = sampleCpu * scale;
    const samplePackages = sample.reduce((n, img) => n + img.packages.length, 0) / S;
    process.stdout.write(`rescan through the registry: ${S} sampled digests (${Math.round(samplePackages)} packages per digest on average, against ${Math.round(totalPackages / N)} over all ${N}) took wall ${sampleWall.toFixed(2)} s, CPU ${sampleCpu.toFixed(2)} s (this process's, scan threads included; the registry's not)${scale !== 1 ? `; scaled ×${scale.toFixed(1)} to ${N}: wall ${rescanWall.toFixed(1)} s, CPU ${rescanCpu.toFixed(1)} s (estimate from the sample)` : ''}\n`);
    const ratio = (t: { wall: number; cpu: number }): string => `wall ${(rescanWall / t.wall).toFixed(1)}×, CPU ${(rescanCpu / t.cpu).toFixed(1)}×`;
    process.stdout.write(`ratio rescan / re-match as a sync runs it: ${ratio(sync)}; rescan / full re-match: ${ratio(full)} (same run)\n`);
    const r = rescanWall / sync.wall;
    process.stdout.write(`goal (the sync's re-match): ≤ 30 s ${sync.wall <= 30 ? 'MET' : 'NOT MET'} (${sync.wall.toFixed(2)} s); ≥ 20× faster ${r >= 20 ? 'MET' : 'NOT MET'} (${r.toFixed(1)}× wall)${N < 1000 ? `; note: a run of ${N} digests, the goal is stated for 1,000` : ''}\n`);
  } finally {
    redis.disconnect();
    await registrySvc.stop();
    await redisSvc.stop();
    for (const dir of [work, registrySvc.dir, redisSvc.dir]) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:monitor failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
