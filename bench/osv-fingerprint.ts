/**
 * Benchmark (not a test): what the OSV data fingerprint (src/scanners/osv/loader.ts) costs a
 * scan when the data is a folder of single JSON files. Every builtin scan asks it twice
 * (`dbVersion()`, and the database check before matching); over a folder of 7,000 records it
 * used to list and stat every file each time, which made each rescan about twice as slow.
 *
 * A folder of BENCH_FP_FILES (7,000) small OSV records is written to a temp folder in seven
 * ecosystem subfolders, as osv.dev's per-record layout has them. The first call (nothing
 * remembered) is timed once, then BENCH_FP_CALLS (100) calls in a row, as scans make them;
 * per call wall and CPU (user + system of this process; the stats themselves run on libuv's
 * threads, which this counts too) are reported as medians over BENCH_FP_RUNS (5) rounds.
 * The first round of a remembering build is slower: the folder was just written, and for two
 * seconds after a directory changed every call looks at every file (loader.ts, RACY_MS).
 *
 * Run: `flock /tmp/bench.lock npm run bench:fingerprint` (builds first). A/B against another
 * build: `BENCH_FP_LOADER=/path/to/dist/src/scanners/osv/loader.js node dist/bench/osv-fingerprint.js`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median } from './stats';

const FILES = Number(process.env.BENCH_FP_FILES ?? 7000);
const CALLS = Number(process.env.BENCH_FP_CALLS ?? 100);
const RUNS = Number(process.env.BENCH_FP_RUNS ?? 5);
const ECOSYSTEMS = ['Debian', 'Alpine', 'Go', 'PyPI', 'npm', 'Maven', 'crates.io'];

type Fingerprint = (root: string) => Promise<string>;

function loader(): Fingerprint {
  const module = process.env.BENCH_FP_LOADER ?? path.join(__dirname, '..', 'src', 'scanners', 'osv', 'loader.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(module) as { fingerprint: Fingerprint }).fingerprint;
}

function writeFolder(dir: string): void {
  for (const e of ECOSYSTEMS) mkdirSync(path.join(dir, e));
  for (let i = 0; i < FILES; i++) {
    const ecosystem = ECOSYSTEMS[i % ECOSYSTEMS.length]!;
    const id = `PCS-BENCH-${String(i).padStart(6, '0')}`;
    writeFileSync(path.join(dir, ecosystem, `${id}.json`), JSON.stringify({
      id, modified: '2025-01-01T00:00:00Z', summary: `bench record ${i}`,
      affected: [{ package: { ecosystem, name: `pkg-${i}` }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] }],
    }));
  }
}

async function main(): Promise<void> {
  const fingerprint = loader();
  const dir = mkdtempSync(path.join(tmpdir(), 'portcullis-bench-fp-'));
  try {
    writeFolder(dir);
    const perCallWall: number[] = [];
    const perCallCpu: number[] = [];
    const firstWall: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // A fresh process-wide state for each round is not possible with a module cache: the
      // first call of round 1 is the cold one; later rounds' first calls show the steady state.
      let t = process.hrtime.bigint();
      const version = await fingerprint(dir);
      firstWall.push(Number(process.hrtime.bigint() - t) / 1e6);
      const cpu = process.cpuUsage();
      t = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) {
        if ((await fingerprint(dir)) !== version) throw new Error('the fingerprint changed while the folder did not');
      }
      const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
      const c = process.cpuUsage(cpu);
      perCallWall.push(wallMs / CALLS);
      perCallCpu.push((c.user + c.system) / 1000 / CALLS);
    }
    console.log(`OSV fingerprint of ${FILES} single-file records in ${ECOSYSTEMS.length} folders (${process.env.BENCH_FP_LOADER ?? 'this build'})`);
    console.log(`  first call (cold): ${firstWall[0]!.toFixed(1)} ms wall`);
    console.log(`  per call, median of ${RUNS} rounds of ${CALLS}: ${median(perCallWall).toFixed(3)} ms wall, ${median(perCallCpu).toFixed(3)} ms CPU`);
    console.log(`  rounds (wall ms/call): ${perCallWall.map((x) => x.toFixed(3)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
