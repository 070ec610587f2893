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
 * A version of the data that changes whenever a file is added, removed, replaced or touched:
 * a hash of relative names, sizes and modification times. Cheap (no file is read), so it can
 * be asked before every scan.
 */
export async function fingerprint(root: string): Promise<string> {
  const files = await listFiles(root).catch((err: unknown) => {
    throw new AppError('SCANNER_UNAVAILABLE', `OSV database folder cannot be read: ${root}`, { cause: err });
  });
  const hash = createHash('sha256');
  for (const f of files) {
    const st = await fs.stat(f);
    hash.update(`${path.relative(root, f)}\0${st.size}\0${st.mtimeMs}\n`);
  }
  return `osv-${files.length}-${hash.digest('hex').slice(0, 16)}`;
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
