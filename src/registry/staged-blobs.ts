/**
 * The bytes of blobs this process has just uploaded, kept for a short while so that the read
 * that follows the upload (the scan of a staged image reads every layer of it, right after the
 * copy: queue/priority.ts) is served from memory instead of the registry (issue 17: the second
 * read of each layer, registry side and HTTP side, was the largest cost of the pipeline beyond
 * its floor).
 *
 * Safety is the registry read's: an entry is kept only once the registry accepted the upload
 * (201 on the closing PUT, which it gives only for bytes that hash to the digest), an entry is
 * found only by the repository it was uploaded to (a blob another repository lacks is not
 * served for it), and a read from here is verified against the digest as it streams, exactly
 * as one from the registry. Memory is bounded whatever the layer sizes: blobs over
 * `maxBlobBytes` are not kept (they stream as before), the total is capped (oldest out first),
 * an entry lives `ttlMs` at most and is dropped when it is read. The cap counts uploads still
 * running too: a recorder reserves its blob's size when it is made (a burst of concurrent copies
 * records no more than the cap between them; an upload that finds no room streams unrecorded),
 * and gives the reservation back when it is kept or when its upload failed ({@link StagedBlobs.release}).
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface StagedBlobsOptions {
  /** A blob bigger than this is not kept. @defaultValue 32 MiB */
  maxBlobBytes?: number;
  /** All kept blobs together. @defaultValue 96 MiB */
  maxTotalBytes?: number;
  /** An entry not read within this is dropped. @defaultValue 120000 */
  ttlMs?: number;
  /** @defaultValue Date.now */
  now?: () => number;
}

interface Entry { chunks: Buffer[]; size: number; at: number }

const MiB = 1024 * 1024;

/** Passes an upload's bytes through and records them; {@link StagedBlobs.keep} stores them once the upload succeeded. */
export class BlobRecorder extends Transform {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  /** Whether its size still counts against the cap as an upload in progress. */
  reserved = true;

  constructor(readonly key: string, readonly size: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    // More than announced: the upload fails on its own; keep nothing.
    if (this.bytes <= this.size) this.chunks.push(chunk);
    cb(null, chunk);
  }
}

export class StagedBlobs {
  private readonly entries = new Map<string, Entry>();
  /** Bytes of the kept entries. */
  private total = 0;
  /** Bytes reserved by recorders whose upload is still running. */
  private recording = 0;
  /** Reads asked of {@link take}: served from here (hits) or not (misses), for the metrics. */
  readonly reads = { hits: 0, misses: 0 };
  private readonly maxBlobBytes: number;
  private readonly maxTotalBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: StagedBlobsOptions = {}) {
    this.maxBlobBytes = options.maxBlobBytes ?? 32 * MiB;
    this.maxTotalBytes = options.maxTotalBytes ?? 96 * MiB;
    this.ttlMs = options.ttlMs ?? 120_000;
    this.now = options.now ?? Date.now;
  }

  private static key(repository: string, digest: string): string {
    return `${repository}@${digest}`;
  }

  /**
   * A recorder for an upload of `size` bytes, its size reserved against the cap (older kept
   * entries make room), or null when such a blob is not kept or the uploads already recording
   * leave no room for it.
   */
  recorder(repository: string, digest: string, size: number): BlobRecorder | null {
    if (!(size > 0) || size > this.maxBlobBytes || size > this.maxTotalBytes) return null;
    if (this.recording + size > this.maxTotalBytes) return null;
    this.prune();
    this.evictFor(size);
    this.recording += size;
    return new BlobRecorder(StagedBlobs.key(repository, digest), size);
  }

  /** Keeps what `recorder` saw; call only after the registry accepted the upload. */
  keep(recorder: BlobRecorder): void {
    this.release(recorder);
    if (recorder.bytes !== recorder.size) return;
    this.drop(recorder.key);
    this.prune();
    this.evictFor(recorder.size);
    this.entries.set(recorder.key, { chunks: recorder.chunks, size: recorder.size, at: this.now() });
    this.total += recorder.size;
  }

  /** Gives back `recorder`'s reservation without keeping anything (its upload failed); harmless twice or after {@link keep}. */
  release(recorder: BlobRecorder): void {
    if (!recorder.reserved) return;
    recorder.reserved = false;
    this.recording -= recorder.size;
  }

  /** The bytes uploaded to `repository` for `digest`, removed from here; undefined when not kept. */
  take(repository: string, digest: string): { chunks: Buffer[]; size: number } | undefined {
    this.prune();
    const key = StagedBlobs.key(repository, digest);
    const entry = this.entries.get(key);
    if (entry) this.drop(key);
    if (entry) this.reads.hits += 1;
    else this.reads.misses += 1;
    return entry;
  }

  /** Bytes of the kept blobs now (for tests and metrics). */
  get bytes(): number {
    return this.total;
  }

  /** Bytes reserved by uploads still recording (for tests and metrics). */
  get recordingBytes(): number {
    return this.recording;
  }

  /** Drops the oldest kept entries until `size` more bytes fit beside them and the uploads recording. */
  private evictFor(size: number): void {
    while (this.total + this.recording + size > this.maxTotalBytes && this.entries.size > 0) this.drop(this.entries.keys().next().value as string);
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.size;
  }

  /** Entries are in insertion order, so the expired ones are at the front. */
  private prune(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.at > cutoff) break;
      this.drop(key);
    }
  }
}
