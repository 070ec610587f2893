/**
 * Fetches or refreshes the builtin scanner's OSV data (`portcullis vulndb sync --from …`):
 * from http(s) URLs of OSV exports (`…/Debian/all.zip`, or single `.json` records) and/or
 * from local folders of JSON files and zips. Everything is staged in a sibling folder,
 * checked to hold valid records, then swapped in with renames, so a scan never sees half an
 * update and a failed download leaves the old data in place. The scanner notices the new
 * files by their fingerprint and reloads; `dbVersion()` changes, so digests get rescanned.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import { AppError } from '../../lib/errors';
import { defaultHttpClient, type HttpClient } from '../../lib/http';
import { fingerprint, loadRecords } from './loader';

export interface SyncProgress {
  /** Relative name of the file being written, e.g. `Debian/all.zip`. */
  file: string;
  bytes: number;
  /** Total bytes when known (Content-Length, file size). */
  total?: number;
}

export interface SyncOptions {
  /** URLs and/or folders. */
  from: string | string[];
  /** The scanner's `osvPath`. */
  to: string;
  /** Called as bytes arrive, for a progress bar. */
  onProgress?: (p: SyncProgress) => void;
  /** Largest download accepted per URL. @defaultValue 8 GiB */
  maxBytes?: number;
  /** The outbound HTTP client. @defaultValue the process's default client */
  http?: HttpClient;
  /**
   * Called right before the new data replaces the old, once it is staged and checked: a throw
   * keeps the old data (a sync run under a lease confirms there that it still holds it, so that
   * a run whose lease lapsed never swaps beside the run that took it over).
   */
  beforeSwap?: () => Promise<void>;
}

export interface SyncResult {
  files: number;
  bytes: number;
  records: number;
  dbVersion: string;
}

const isUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** `https://host/Debian/all.zip` → `Debian/all.zip`; `…/x.json` → `x.json`. */
export function localNameFor(url: string): string {
  const parts = new URL(url).pathname.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  const base = parts.at(-1) ?? 'download.zip';
  return base === 'all.zip' && parts.length >= 2 ? `${parts.at(-2)}/all.zip` : base;
}

async function download(url: string, staging: string, opts: SyncOptions): Promise<number> {
  const name = localNameFor(url);
  const max = opts.maxBytes ?? 8 * 1024 ** 3;
  let res: IncomingMessage;
  try {
    res = await (opts.http ?? defaultHttpClient()).stream({ url, followRedirects: true, what: 'the request' });
  } catch (err) {
    throw new AppError('SCANNER_UNAVAILABLE', `OSV download ${url} failed: ${(err as Error).message}`, { cause: err, temporary: true });
  }
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    res.resume();
    throw new AppError('SCANNER_UNAVAILABLE', `OSV download ${url} answered HTTP ${status}`, { temporary: status >= 500 });
  }
  const lengthHeader = res.headers['content-length'];
  const total = lengthHeader && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  if (total !== undefined && total > max) {
    res.destroy();
    throw new AppError('SCAN_LIMIT_EXCEEDED', `OSV download ${url} is ${total} bytes, above ${max}`);
  }
  const target = path.join(staging, name);
  await fs.mkdir(path.dirname(target), { recursive: true });
  let bytes = 0;
  const body = res;
  body.on('data', (c: Buffer) => {
    bytes += c.length;
    if (bytes > max) body.destroy(new AppError('SCAN_LIMIT_EXCEEDED', `OSV download ${url} exceeds ${max} bytes`));
    else opts.onProgress?.({ file: name, bytes, total });
  });
  await pipeline(body, createWriteStream(target));
  // The server's Last-Modified becomes the file's time: the same export downloaded again
  // keeps the same fingerprint, so an unchanged database triggers no re-match.
  const modified = Date.parse(String(res.headers['last-modified'] ?? ''));
  if (Number.isFinite(modified)) await fs.utimes(target, new Date(), new Date(modified));
  return bytes;
}

async function copyFolder(dir: string, staging: string, opts: SyncOptions): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && /\.(json|zip)$/i.test(e.name)) {
        await fs.mkdir(path.join(staging, rel), { recursive: true });
        await fs.copyFile(path.join(dir, r), path.join(staging, r));
        // The source's modification time is kept, so that syncing unchanged data gives the same
        // fingerprint (dbVersion): a scheduled sync of the same data re-matches nothing.
        const src = await fs.stat(path.join(dir, r));
        await fs.utimes(path.join(staging, r), src.atime, src.mtime);
        const size = (await fs.stat(path.join(staging, r))).size;
        files += 1;
        bytes += size;
        opts.onProgress?.({ file: r, bytes: size, total: size });
      }
    }
  };
  try {
    await walk('');
  } catch (err) {
    throw new AppError('SCANNER_UNAVAILABLE', `OSV folder ${dir} cannot be read`, { cause: err });
  }
  return { files, bytes };
}

export async function syncOsv(opts: SyncOptions): Promise<SyncResult> {
  const sources = Array.isArray(opts.from) ? opts.from : [opts.from];
  if (sources.length === 0) throw new AppError('INVALID_REQUEST', 'vulndb sync needs at least one --from');
  const to = path.resolve(opts.to);
  await fs.mkdir(path.dirname(to), { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const staging = `${to}.sync-${stamp}`;
  const old = `${to}.old-${stamp}`;
  await fs.mkdir(staging, { recursive: true });
  try {
    let files = 0;
    let bytes = 0;
    for (const source of sources) {
      if (isUrl(source)) {
        bytes += await download(source, staging, opts);
        files += 1;
      } else {
        const copied = await copyFolder(source, staging, opts);
        files += copied.files;
        bytes += copied.bytes;
      }
    }
    const stats = await loadRecords(staging, () => undefined);
    if (stats.records === 0) {
      throw new AppError('SCANNER_UNAVAILABLE', `no valid OSV records in ${sources.join(', ')}; the current data is kept`);
    }
    await opts.beforeSwap?.();
    const hadOld = await fs.stat(to).then(() => true, () => false);
    if (hadOld) await fs.rename(to, old);
    await fs.rename(staging, to);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
    // Computed afresh (not the value this process remembers of the folder it replaced).
    return { files, bytes, records: stats.records, dbVersion: await fingerprint(to, { fresh: true }) };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
