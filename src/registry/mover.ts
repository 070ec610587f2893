/**
 * The Mover contract: moves one image (or index) from a source reference to a destination
 * reference. Two implementations: the registry-native copy engine (byte for byte, digests
 * preserved) and the Docker Engine mover (pull, tag, push through a daemon; the engine may
 * recompress, so its pushed digest can differ from the source's). Callers must treat
 * `CopyResult.digest`, the digest the destination serves, as the identity to scan and approve.
 */
import type { ImageRef } from './reference';
import type { Platform } from './types';

/** A progress snapshot, emitted while blobs stream (for logs and progress bars). */
export interface CopyProgress {
  /** Bytes of blobs transferred or skipped so far. */
  bytesDone: number;
  /** Total bytes of all blobs to copy (known once the manifests are read). */
  bytesTotal: number;
  blobsDone: number;
  blobsTotal: number;
  /** Blobs already present at the destination (HEAD) or mounted, counted in blobsDone. */
  blobsSkipped: number;
  /** What happened last. */
  phase: 'manifest' | 'blob' | 'blob-done' | 'retry' | 'tag' | 'done';
  /** Digest of the blob or manifest the event is about, when there is one. */
  digest?: string;
}

/** Options of one copy. */
export interface CopyOptions {
  /**
   * Platforms to copy out of an index (`linux/amd64`, `linux/arm/v7`, or Platform objects).
   * Without `writeIndex`, exactly one must match, and that image is the result.
   * @defaultValue all platforms, the index copied unchanged
   */
  platforms?: Array<string | Platform>;
  /** With `platforms`: write a new index holding only the selected children. @defaultValue false */
  writeIndex?: boolean;
  /**
   * Judge an index's children by content before copying (see ./children.ts): `fail` refuses
   * an index with a child that is neither a scannable image nor provably inert
   * (`UNSCANNABLE_CHILD`); `drop` writes a new index without such children.
   * @defaultValue unset: every child copied (config `scanning.unscannableChildren` sets it for staging)
   */
  unscannableChildren?: 'fail' | 'drop';
  /** Blobs copied in parallel. @defaultValue 4 (config `copy.jobs`) */
  jobs?: number;
  /** Retries of a temporary failure, per blob or manifest operation. @defaultValue 5 (config `copy.retries`) */
  retries?: number;
  /** First backoff delay; doubled per attempt, with full jitter. @defaultValue 500 */
  retryBaseMs?: number;
  onProgress?: (progress: CopyProgress) => void;
  /**
   * The destination keeps the manifests written by digest for the read that follows (a client
   * with staged blobs only; see PutManifestOptions.keep): set by staging, whose scan reads them.
   * @defaultValue false
   */
  keepManifests?: boolean;
  /** Aborts the copy; nothing is tagged after an abort. */
  signal?: AbortSignal;
}

/** Where one platform's image went. */
export interface PlatformDigest {
  platform?: Platform;
  /** Digest of the image manifest at the source. */
  sourceDigest: string;
  /** Digest of the image manifest the destination serves (equal for byte-for-byte movers). */
  digest: string;
}

/** What a mover did. */
export interface CopyResult {
  /** Digest the destination serves for `dst` now: the one to scan, approve and pull. */
  digest: string;
  mediaType: string;
  size: number;
  /** Digest that `src` resolved to at the source. */
  sourceDigest: string;
  /** One entry per image manifest copied (one for a single image). */
  platforms: PlatformDigest[];
  /** Source digest → destination digest for every manifest whose digest changed. */
  mapping: Record<string, string>;
}

/** Moves images between registries. Implementations are chosen once, in main.ts. */
export interface Mover {
  /** `registry` (byte for byte) or `engine` (through a Docker-compatible daemon). */
  readonly name: string;
  /**
   * True when the destination serves exactly the source's bytes (same digest). An engine
   * mover recompresses layers, so the digest it reports is a new identity: the pipeline
   * must scan, approve and promote `CopyResult.digest`, and record `sourceDigest`.
   */
  readonly preservesDigest: boolean;
  /** Copies `src` to `dst`; the tag of `dst`, if any, is written last, after everything it refers to. */
  copy(src: ImageRef, dst: ImageRef, opts?: CopyOptions): Promise<CopyResult>;
}
