/**
 * Reads one layer blob as a stream: gunzip when the bytes start with the gzip magic (media
 * types are not trusted for this), tar entries via tar-stream, one entry at a time. Only the
 * files {@link classify} names are read into memory, each under a cap; everything else is
 * drained. Decompressed bytes and entries are counted against the scan's limits as they flow,
 * so a decompression bomb stops at the limit instead of filling memory or disk.
 */
import { once } from 'node:events';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract, type Extract } from 'tar-stream';
import { AppError } from '../../lib/errors';
import { LayerChanges, type MergedFilesystem, type PathFacts } from './filesystem';
import type { ScanBudget, ScanLimits } from './limits';
import { parseApkInstalled } from './parsers/apk';
import { parseDpkgStatus } from './parsers/dpkg';
import { apkOwnedFiles, parseDpkgList } from './parsers/owned-files';
import { goBinaryFacts, isExecutable } from './analyzers/go-binary';
import { readGoBuildInfo } from './analyzers/go-buildinfo';
import { BINARY_ANALYZERS } from './analyzers';
import { parseNpmManifest } from './parsers/npm';
import { parseOsRelease } from './parsers/os-release';
import { parsePythonMetadata } from './parsers/python';
import { classify, normalizeEntryPath, READ_CAP, type FileKind } from './paths';
import { readCapped } from './read-capped';
import { secretInFile } from './secrets';
import { isZstd, ZstdDecompress } from './zstd';

export type { ScanBudget } from './limits';

/** What one kept path costs beyond its characters (map entry, object header): an estimate, for the budget. */
const PATH_OVERHEAD = 64;

/** A tar entry as tar-stream's iterator yields it (the type is not exported by name). */
type Entry = Extract extends AsyncIterable<infer E> ? E : never;

const limitError = (message: string): AppError => new AppError('SCAN_LIMIT_EXCEEDED', message);

/**
 * Output chunk of the gunzip stage. zlib's default (16 KiB) makes an 8 MiB layer 512 trips to
 * libuv's thread pool and back, 512 buffers and 512 pushes through tar: measured in a scan
 * thread (issue 17), 256 KiB halves the CPU of reading a layer (decompression itself is the
 * same); memory per layer stays flat (one chunk in flight).
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

/** Counts decompressed bytes and fails the stream once the scan's total is exceeded. */
class ByteBudget extends Transform {
  constructor(private readonly budget: ScanBudget, private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.budget.bytes += chunk.length;
    if (this.budget.bytes > this.max) cb(limitError(`decompressed image exceeds ${this.max} bytes`));
    else cb(null, chunk);
  }
}

/** Passes bytes through, inserting a gunzip or zstd stage when the first bytes are that format's magic. */
class MaybeGunzip extends Transform {
  /** The decoder (gunzip or zstd) when the layer is compressed. */
  private gunzip: Transform | null = null;
  /** Bytes held until there are enough to recognise the format (a chunk may be 1 byte). */
  private head: Buffer | null = Buffer.alloc(0);

  private decide(head: Buffer): AppError | null {
    // zstd (OCI `+zstd` layers): a streaming decoder from npm, see ./zstd.ts.
    if (isZstd(head)) this.attach(new ZstdDecompress(), 'zstd');
    else if (head[0] === 0x1f && head[1] === 0x8b) this.attach(createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), 'gzip');
    return null;
  }

  private attach(decoder: Transform, format: string): void {
    this.gunzip = decoder;
    decoder.on('data', (d: Buffer) => {
      if (!this.push(d)) this.gunzip?.pause();
    });
    decoder.on('error', (e) => this.destroy(e instanceof AppError ? e : new AppError('SCAN_FAILED', `layer is not valid ${format}: ${e.message}`)));
  }

  private pass(chunk: Buffer, cb: TransformCallback): void {
    if (this.gunzip) this.gunzip.write(chunk, cb);
    else cb(null, chunk);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.head === null) return this.pass(chunk, cb);
    const head = Buffer.concat([this.head, chunk]);
    if (head.length < 4) {
      this.head = head;
      return cb();
    }
    this.head = null;
    const err = this.decide(head);
    if (err) return cb(err);
    this.pass(head, cb);
  }

  override _read(size: number): void {
    this.gunzip?.resume();
    super._read(size);
  }

  override _flush(cb: TransformCallback): void {
    if (this.head !== null) {
      // A layer shorter than 4 bytes: whatever it is, pass it on for tar to judge.
      const head = this.head;
      this.head = null;
      const err = this.decide(head);
      if (err) return cb(err);
      if (!this.gunzip) return cb(null, head);
      this.gunzip.write(head);
    }
    if (!this.gunzip) return cb();
    this.gunzip.once('end', () => cb());
    this.gunzip.end();
  }
}

/** Adds `bytes` of kept metadata to the scan's total; past `maxMetadataBytes` the scan fails. */
function charge(budget: ScanBudget, limits: ScanLimits, bytes: number, what: string): void {
  budget.metadataBytes += bytes;
  if (budget.metadataBytes > limits.maxMetadataBytes) throw limitError(`${what}: metadata read and kept exceeds ${limits.maxMetadataBytes} bytes`);
}

function parse(kind: FileKind, path: string, text: string, limits: ScanLimits): Partial<PathFacts> {
  switch (kind) {
    case 'dpkg-status':
      return { packages: parseDpkgStatus(text, limits.maxDatabaseEntries, `/${path}`) };
    case 'apk-installed':
      return { packages: parseApkInstalled(text, limits.maxDatabaseEntries, `/${path}`), ownedPaths: apkOwnedFiles(text) };
    case 'dpkg-list':
      return { ownedPaths: parseDpkgList(text) };
    case 'npm':
      return { packages: parseNpmManifest(text) };
    case 'python':
      return { packages: parsePythonMetadata(text) };
    case 'os-release':
      return { osRelease: parseOsRelease(text) };
    case 'go-binary':
    case 'rpmdb-sqlite':
    case 'java-archive':
    case 'rpmdb-bdb':
      return {}; // binary: read by their analyzers (./analyzers), never as text
    case 'secret-candidate': {
      const secret = secretInFile(path, text);
      return secret ? { secret } : {};
    }
  }
}

/** Handles one tar entry; returns facts to record for its path, or null when none. */
async function readEntry(entry: Entry, path: string, layer: string, limits: ScanLimits, budget: ScanBudget): Promise<PathFacts | null> {
  const h = entry.header;
  const size = h.size ?? 0;
  if (size > limits.maxFileBytes) throw limitError(`${path}: file of ${size} bytes exceeds ${limits.maxFileBytes}`);
  const type = h.type ?? 'file';
  const regular = type === 'file' || type === 'contiguous-file';
  const kind = classify(path);
  const facts: PathFacts = { layer };
  if (regular && ((h.mode ?? 0) & 0o6000) !== 0) facts.setuidMode = h.mode ?? 0;
  if (type === 'symlink' && kind === 'os-release') facts.symlinkTarget = h.linkname ?? '';
  if (regular && kind === 'rpmdb-bdb' && size > READ_CAP[kind]) {
    // Not read, and said so: the image gets a coverage finding rather than a failed scan.
    Object.assign(facts, { kind, unreadable: `${size} bytes, over the ${READ_CAP[kind]}-byte cap` });
    entry.resume();
  } else if (regular && kind && BINARY_ANALYZERS[kind] && size <= READ_CAP[kind]) {
    // Read whole but not kept: only the packages found count against the budget.
    const parsed = await BINARY_ANALYZERS[kind](await readCapped(entry, READ_CAP[kind], path), limits, path);
    if (parsed.packages) {
      budget.packages += parsed.packages.length;
      if (budget.packages > limits.maxPackages) throw limitError(`/${path}: more than ${limits.maxPackages} package records in the image`);
    }
    Object.assign(facts, { kind }, parsed);
  } else if (regular && kind && size <= READ_CAP[kind]) {
    // Charged before reading, from the header: a file that would pass the total is never read.
    charge(budget, limits, size, `/${path}`);
    // The header's size was checked against the cap; the reader's own cap only guards it.
    const text = (await readCapped(entry, READ_CAP[kind], path)).toString('utf8');
    const parsed = parse(kind, path, text, limits);
    if (parsed.packages) {
      budget.packages += parsed.packages.length;
      if (budget.packages > limits.maxPackages) throw limitError(`/${path}: more than ${limits.maxPackages} package records in the image`);
    }
    Object.assign(facts, { kind }, parsed);
  } else if (regular && kind && kind !== 'secret-candidate') {
    throw limitError(`${path}: ${size} bytes exceeds the ${READ_CAP[kind]}-byte cap for a ${kind} file`);
  } else if (regular && !kind && isExecutable(h.mode, size)) {
    Object.assign(facts, goBinaryFacts(await readGoBuildInfo(entry)));
  } else {
    entry.resume();
  }
  const useful = facts.kind !== undefined || facts.setuidMode !== undefined || facts.symlinkTarget !== undefined;
  if (useful) charge(budget, limits, path.length + (facts.symlinkTarget?.length ?? 0) + PATH_OVERHEAD, `/${path}`);
  return useful ? facts : null;
}

/**
 * Streams one layer and returns its changes. `fs` is the state below this layer, used to
 * notice when the layer overwrites a tracked path with something untracked.
 */
export async function readLayer(
  blob: Readable,
  layer: string,
  fs: MergedFilesystem,
  limits: ScanLimits,
  budget: ScanBudget,
): Promise<LayerChanges> {
  const changes = new LayerChanges(layer);
  const tar = extract();
  const consume = (async () => {
    for await (const entry of tar) {
      budget.entries += 1;
      if (budget.entries > limits.maxEntries) throw limitError(`image has more than ${limits.maxEntries} tar entries`);
      const path = normalizeEntryPath(entry.header.name);
      const link = entry.header.linkname;
      // A hard link's target is a path in the archive; one outside the root is hostile.
      const badLink = entry.header.type === 'link' && link != null && (link.startsWith('/') || normalizeEntryPath(link) === null);
      if (path === null || badLink) {
        throw new AppError('SCAN_FAILED', `layer ${layer} refused: entry "${entry.header.name}" escapes the image root`);
      }
      const base = path.slice(path.lastIndexOf('/') + 1);
      const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
      // Every path kept (whiteouts, opaque dirs, replaced paths, facts) is charged to the budget.
      if (base === '.wh..wh..opq') {
        charge(budget, limits, path.length + PATH_OVERHEAD, `/${path}`);
        changes.opaqueDirs.add(dir);
        entry.resume();
      } else if (base.startsWith('.wh.')) {
        charge(budget, limits, path.length + PATH_OVERHEAD, `/${path}`);
        changes.whiteouts.add(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
        entry.resume();
      } else {
        const facts = await readEntry(entry, path, layer, limits, budget);
        if (facts) changes.facts.set(path, facts);
        else if (entry.header.type !== 'directory' && fs.has(path)) {
          charge(budget, limits, path.length + PATH_OVERHEAD, `/${path}`);
          changes.replaced.add(path);
        }
      }
    }
  })();
  // Feeds tar-stream (a streamx Writable) by hand, honouring its backpressure; node's
  // pipeline() does not know streamx streams.
  const gunzip = new MaybeGunzip();
  const bytes = blob.pipe(gunzip).pipe(new ByteBudget(budget, limits.maxTotalBytes));
  // pipe() does not forward errors: a digest mismatch or bad gzip must end the iteration.
  blob.on('error', (e) => bytes.destroy(e));
  gunzip.on('error', (e) => bytes.destroy(e));
  const abort = new AbortController();
  const feed = (async () => {
    for await (const chunk of bytes) {
      if (!tar.write(chunk as Buffer)) await once(tar, 'drain', { signal: abort.signal });
    }
    tar.end(null);
  })();
  // Both are awaited below; these handlers only stop the loser's rejection from being
  // reported as unhandled once the other has already failed the layer.
  feed.catch(() => undefined);
  consume.catch(() => undefined);
  try {
    await Promise.all([feed, consume]);
  } catch (err) {
    abort.abort();
    blob.destroy();
    gunzip.destroy();
    bytes.destroy();
    tar.destroy();
    throw err;
  }
  return changes;
}
