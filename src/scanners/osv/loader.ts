/**
 * Reads OSV records from a folder: `*.json` files (one record each, at any depth) and OSV's
 * per-ecosystem `all.zip` exports, whose entries are streamed one by one with yauzl so a
 * multi-gigabyte export never sits in memory whole. A malformed record is counted and
 * skipped, not fatal: one bad advisory must not stop every scan.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import yauzl from 'yauzl';
import { AppError } from '../../lib/errors';
import { osvRecordSchema, type OsvRecord } from './schema';

/** A single record larger than this is not an advisory; refusing it bounds memory. */
const MAX_RECORD_BYTES = 8 * 1024 * 1024;

export interface LoadStats {
  files: number;
  records: number;
  invalid: number;
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && /\.(json|zip)$/i.test(e.name)) out.push(full);
    }
  };
  await walk(root);
  return out;
}

/**
 * How long a fingerprint is reused at most without looking at every file again: the bound on
 * noticing a file rewritten in place (see {@link OsvFingerprints}).
 */
export const FINGERPRINT_RECHECK_MS = 30_000;

/**
 * A directory modified this recently (before the fingerprint was computed) is not trusted to
 * show the next change: a timestamp is only as fine as the file system's (1 s on ext3, 2 s on
 * FAT, a kernel tick on ext4), so an entry added in the same tick leaves it as it was.
 */
const RACY_MS = 2000;

/** Stats run at once during a full computation. */
const STAT_BATCH = 64;

interface DirStamp { dev: number; ino: number; mtimeMs: number; ctimeMs: number }

interface Remembered {
  value: string;
  /** Every directory of the tree (the root first), as stat'ed before it was listed. */
  dirs: Map<string, DirStamp>;
  /** When every file was last stat'ed. */
  computedAt: number;
  /** No directory was modified within {@link RACY_MS} of that: their stamps can be trusted. */
  settled: boolean;
}

const stampOf = (st: { dev: number; ino: number; mtimeMs: number; ctimeMs: number }): DirStamp => ({ dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
const sameStamp = (a: DirStamp, b: DirStamp): boolean => a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

export interface OsvFingerprintOptions {
  /** @defaultValue {@link FINGERPRINT_RECHECK_MS} */
  recheckMs?: number;
  /** The wall clock (compared with file times). @defaultValue Date.now */
  now?: () => number;
}

/**
 * The data version of OSV folders, remembered per folder for this process, so that a scan
 * does not stat every file of a folder of single JSON records (7,000 stats made each rescan
 * twice as slow). What is promised:
 * - a file added, removed or renamed anywhere in the tree (which is how `vulndb sync`, git,
 *   rsync without --inplace, and editors that save to a new file and rename it change a
 *   folder), or the folder replaced whole (`vulndb sync` swaps in a new one; a symlink moved
 *   to another), is seen at the next call: the directory's modification time, change time or
 *   inode moves, and only the directories are stat'ed on each call (one per ecosystem folder);
 * - a file rewritten in place under the same name (`cat >`, `cp` over it, rsync --inplace,
 *   editors that write in place) does not touch its directory: it is seen at the next full
 *   look at every file, at most {@link FINGERPRINT_RECHECK_MS} later;
 * - while a directory was modified within {@link RACY_MS} of the last full look, every call
 *   looks at every file again (a change in the same timestamp tick would not show).
 * A stale value only lasts as long as that, and `vulndb sync` computes its value afresh
 * ({@link fingerprint} with `fresh`), so a sync never reports, nor a re-match after it reads,
 * the data version from before. The value itself is the full computation's, unchanged: a
 * hash of relative names, sizes and modification times (a restart re-matches nothing).
 */
export class OsvFingerprints {
  private readonly remembered = new Map<string, Remembered>();
  private readonly computing = new Map<string, Promise<string>>();
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(options: OsvFingerprintOptions = {}) {
    this.recheckMs = options.recheckMs ?? FINGERPRINT_RECHECK_MS;
    this.now = options.now ?? Date.now;
  }

  /** The data version of the folder `root`; `fresh` looks at every file now. */
  async get(root: string, options: { fresh?: boolean } = {}): Promise<string> {
    const key = path.resolve(root);
    const known = this.remembered.get(key);
    // A clock stepped back (negative age) counts as due: the bound on an unseen in-place rewrite
    // must not stretch by the size of the step.
    const age = known ? this.now() - known.computedAt : -1;
    if (known && !options.fresh && known.settled && age >= 0 && age < this.recheckMs && await this.unchanged(known)) return known.value;
    // Concurrent callers share one computation; a fresh one never joins one that started earlier.
    const running = options.fresh ? undefined : this.computing.get(key);
    if (running) return running;
    const computation = this.compute(key).finally(() => {
      if (this.computing.get(key) === computation) this.computing.delete(key);
    });
    this.computing.set(key, computation);
    return computation;
  }

  /** Forgets what was remembered of `root` (the next call looks at every file). */
  forget(root: string): void {
    this.remembered.delete(path.resolve(root));
  }

  private async unchanged(known: Remembered): Promise<boolean> {
    const stats = await Promise.all([...known.dirs.keys()].map((d) => fs.stat(d).then(stampOf, () => null)));
    return [...known.dirs.values()].every((stamp, i) => stats[i] !== null && sameStamp(stamp, stats[i]!));
  }

  private async compute(root: string): Promise<string> {
    // A folder changed during the walk (a file listed, then gone before its stat: a sync
    // swapping folders) is walked again; a folder that keeps changing is reported unreadable.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.walk(root);
      } catch (err) {
        if (attempt < 3 && (err as NodeJS.ErrnoException).code === 'ENOENT' && (err as { listed?: boolean }).listed) continue;
        this.remembered.delete(root);
        throw new AppError('SCANNER_UNAVAILABLE', `OSV database folder cannot be read: ${root}`, { cause: err });
      }
    }
  }

  private async walk(root: string): Promise<string> {
    const startedAt = this.now();
    const dirs = new Map<string, DirStamp>();
    const files: string[] = [];
    // Each directory is stat'ed before it is listed: a change after the stat shows at the next check.
    const walk = async (dir: string): Promise<void> => {
      dirs.set(dir, stampOf(await fs.stat(dir)));
      const entries = await fs.readdir(dir, { withFileTypes: true });
      for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile() && /\.(json|zip)$/i.test(e.name)) files.push(full);
      }
    };
    await walk(root);
    const hash = createHash('sha256');
    for (let i = 0; i < files.length; i += STAT_BATCH) {
      const batch = files.slice(i, i + STAT_BATCH);
      const stats = await Promise.all(batch.map((f) => fs.stat(f).catch((err: unknown) => { throw Object.assign(err as Error, { listed: true }); })));
      batch.forEach((f, j) => hash.update(`${path.relative(root, f)}\0${stats[j]!.size}\0${stats[j]!.mtimeMs}\n`));
    }
    const value = `osv-${files.length}-${hash.digest('hex').slice(0, 16)}`;
    const settled = [...dirs.values()].every((d) => d.mtimeMs < startedAt - RACY_MS);
    // A computation that started before the one remembered (a fresh one overtook it) leaves it.
    const known = this.remembered.get(root);
    if (!known || known.computedAt <= startedAt) this.remembered.set(root, { value, dirs, computedAt: startedAt, settled });
    return value;
  }
}

const shared = new OsvFingerprints();

/**
 * A version of the data that changes whenever a file is added, removed, replaced or touched:
 * a hash of relative names, sizes and modification times, remembered for this process as
 * {@link OsvFingerprints} describes (what it guarantees, and how late an in-place rewrite may
 * show). `fresh` looks at every file now (what `vulndb sync` reports).
 */
export function fingerprint(root: string, options: { fresh?: boolean } = {}): Promise<string> {
  return shared.get(root, options);
}

function parseRecord(text: string, stats: LoadStats): OsvRecord | null {
  try {
    const parsed = osvRecordSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: counted as invalid
  }
  stats.invalid += 1;
  return null;
}

function readZip(file: string, onRecord: (r: OsvRecord) => void, stats: LoadStats): Promise<void> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('zip did not open'));
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!entry.fileName.endsWith('.json') || entry.uncompressedSize > MAX_RECORD_BYTES) {
          if (entry.fileName.endsWith('.json')) stats.invalid += 1;
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (e2, stream) => {
          if (e2 || !stream) return reject(e2 ?? new Error('zip entry did not open'));
          const chunks: Buffer[] = [];
          let size = 0;
          stream.on('data', (c: Buffer) => {
            size += c.length;
            // yauzl checks uncompressedSize too; this guards against a lying header.
            if (size > MAX_RECORD_BYTES) stream.destroy(new Error(`${entry.fileName}: record too large`));
            else chunks.push(c);
          });
          stream.on('error', reject);
          stream.on('end', () => {
            const r = parseRecord(Buffer.concat(chunks).toString('utf8'), stats);
            if (r) {
              stats.records += 1;
              onRecord(r);
            }
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** Calls `onRecord` for every valid record under `root`. */
export async function loadRecords(root: string, onRecord: (r: OsvRecord) => void): Promise<LoadStats> {
  const stats: LoadStats = { files: 0, records: 0, invalid: 0 };
  let files: string[];
  try {
    files = await listFiles(root);
  } catch (err) {
    throw new AppError('SCANNER_UNAVAILABLE', `OSV database folder cannot be read: ${root}`, { cause: err });
  }
  for (const file of files) {
    stats.files += 1;
    if (file.toLowerCase().endsWith('.zip')) {
      await readZip(file, onRecord, stats).catch((err: unknown) => {
        throw new AppError('SCANNER_UNAVAILABLE', `OSV export ${path.basename(file)} cannot be read`, { cause: err });
      });
      continue;
    }
    const st = await fs.stat(file);
    if (st.size > MAX_RECORD_BYTES) {
      stats.invalid += 1;
      continue;
    }
    const r = parseRecord(await fs.readFile(file, 'utf8'), stats);
    if (r) {
      stats.records += 1;
      onRecord(r);
    }
  }
  return stats;
}
