/**
 * The bytes of blobs this process has just uploaded, kept for a short while so that the read
 * that follows the upload (the scan of a staged image reads every layer of it, right after the
 * copy: queue/priority.ts) is served from memory instead of the registry (issue 17: the second
 * read of each layer, registry side and HTTP side, was the largest cost of the pipeline beyond
 * its floor).
 *
 * What is kept is a {@link VerifiedCopy}: the blob's bytes copied into memory of their own as
 * they were verified against the digest (by the copy's source read, ./copy.ts, or by the
 * upload itself), the copy being what was hashed. So a read from here is served without
 * hashing the bytes a second time (issue 17: that second SHA-256 of every layer was a few ms of
 * the main thread per image) and is still verified: the bytes served are the bytes that hashed
 * to the digest, and no other code holds them. Also kept only once the registry accepted the
 * upload (201 on the closing PUT, which it gives only for bytes that hash to the digest); an
 * entry is found only by the repository it was uploaded to (a blob another repository lacks is
 * not served for it) and handed out once (it is dropped when read).
 *
 * Memory is bounded whatever the layer sizes: blobs over `maxBlobBytes` are not kept (they
 * stream as before), the total is capped (oldest out first), an entry lives `ttlMs` at most.
 * The cap counts uploads still running too: a copy reserves its blob's size when it is made (a
 * burst of concurrent copies records no more than the cap between them; an upload that finds no
 * room streams unrecorded), and gives the reservation back when it is kept or when its upload
 * failed ({@link StagedCopy.release}).
 */
import { VerifiedCopy } from './verify';

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

/** A kept blob: its verified copy (its bytes and size are the copy's), and when it was kept. */
interface Entry { copy: VerifiedCopy; at: number }

/** A manifest kept: its bytes (a copy of the body sent), its media type, when. */
interface ManifestEntry { body: Buffer; mediaType: string; at: number }

/** Manifests kept at most (the newest), and the largest kept: image manifests are a few KiB. */
const MAX_MANIFESTS = 256;
const MAX_MANIFEST_BYTES = 64 * 1024;

const MiB = 1024 * 1024;

/** A copy reserved for one upload (see {@link StagedBlobs.reserve}): filled and verified by a DigestVerifier. */
export class StagedCopy extends VerifiedCopy {
  /** Whether its size still counts against the cap as an upload in progress. */
  reserved = true;

  constructor(readonly owner: StagedBlobs, readonly repository: string, digest: string, size: number) {
    super(digest, size);
  }

  /** Gives back its room without keeping it (its upload failed, or never ran); harmless twice or after it was kept. */
  release(): void {
    this.owner.release(this);
  }
}

export class StagedBlobs {
  private readonly entries = new Map<string, Entry>();
  private readonly manifests = new Map<string, ManifestEntry>();
  /** Bytes of the kept entries. */
  private total = 0;
  /** Bytes reserved by copies whose upload is still running. */
  private recording = 0;
  /** Reads asked of {@link take}: served from here (hits) or not (misses), for the metrics. */
  readonly reads = { hits: 0, misses: 0 };
  private readonly maxBlobBytes: number;
  private readonly maxTotalBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** Drops expired entries while the cache is idle ({@link schedulePrune}). */
  private timer: NodeJS.Timeout | null = null;

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
   * A copy for an upload of `size` bytes to `repository`, its size reserved against the cap
   * (older kept entries make room), or null when such a blob is not kept or the uploads
   * already recording leave no room for it.
   */
  reserve(repository: string, digest: string, size: number): StagedCopy | null {
    if (!(size > 0) || size > this.maxBlobBytes || size > this.maxTotalBytes) return null;
    if (this.recording + size > this.maxTotalBytes) return null;
    // Made before its size is counted: a copy that cannot be made (memory) leaks no reservation.
    const copy = new StagedCopy(this, repository, digest, size);
    this.prune();
    this.evictFor(size);
    this.recording += size;
    return copy;
  }

  /**
   * Keeps `copy` as the bytes of `digest` in `repository`, once the registry accepted their
   * upload there; only a verified copy of that blob, reserved here for that repository, is kept.
   */
  keep(copy: StagedCopy, repository: string, digest: string): void {
    const ours = copy.owner === this && copy.reserved;
    this.release(copy);
    if (!ours || !copy.verified || copy.repository !== repository || copy.digest !== digest) return;
    const key = StagedBlobs.key(repository, digest);
    this.drop(key);
    this.prune();
    this.evictFor(copy.size);
    this.entries.set(key, { copy, at: this.now() });
    this.total += copy.size;
    this.schedulePrune();
  }

  /** Gives back `copy`'s reservation; harmless twice or after {@link keep}. */
  release(copy: StagedCopy): void {
    if (copy.owner !== this || !copy.reserved) return;
    copy.reserved = false;
    this.recording -= copy.size;
  }

  /** The verified copy uploaded to `repository` for `digest` (its bytes, its size), removed from here; undefined when not kept. */
  take(repository: string, digest: string): VerifiedCopy | undefined {
    this.prune();
    const key = StagedBlobs.key(repository, digest);
    const entry = this.entries.get(key);
    if (entry) this.drop(key);
    if (entry) this.reads.hits += 1;
    else this.reads.misses += 1;
    return entry?.copy;
  }

  /**
   * Keeps a copy of a manifest this process has just written by digest to `repository` (the
   * registry answered 201 for exactly these bytes), for the scan that reads it next: the
   * quarantined image's manifest, written by the copy and read back by the scan right after
   * (issue 17: one registry request per request). Bounded by count and size, found only by its
   * repository and digest, handed out once, dropped after the TTL like the blobs.
   */
  keepManifest(repository: string, digest: string, body: Buffer, mediaType: string): void {
    if (body.length > MAX_MANIFEST_BYTES) return;
    const key = StagedBlobs.key(repository, digest);
    this.manifests.delete(key);
    this.manifests.set(key, { body: Buffer.from(body), mediaType, at: this.now() });
    for (const [k] of this.manifests) {
      if (this.manifests.size <= MAX_MANIFESTS) break;
      this.manifests.delete(k);
    }
    this.schedulePrune();
  }

  /** The manifest kept for `repository` and `digest` (see {@link keepManifest}), removed from here. */
  takeManifest(repository: string, digest: string): { body: Buffer; mediaType: string } | undefined {
    this.prune();
    const key = StagedBlobs.key(repository, digest);
    const entry = this.manifests.get(key);
    this.manifests.delete(key);
    return entry;
  }

  /** Manifests kept now (for tests). */
  get manifestCount(): number {
    return this.manifests.size;
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
    this.total -= entry.copy.size;
  }

  /** Entries are in insertion order, so the expired ones are at the front. */
  private prune(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.at > cutoff) break;
      this.drop(key);
    }
    for (const [key, entry] of this.manifests) {
      if (entry.at > cutoff) break;
      this.manifests.delete(key);
    }
  }

  /**
   * Drops each entry when its time to live ends even if nothing uses the cache then: pruning
   * only on use left the last burst's unread blobs (up to the cap, 96 MiB by default) in memory
   * for as long as the worker stayed idle. One timer, for the oldest entry, unref'd so that it
   * never keeps a process alive.
   */
  private schedulePrune(): void {
    if (this.timer) return;
    const oldest = Math.min(
      (this.entries.values().next().value as Entry | undefined)?.at ?? Infinity,
      (this.manifests.values().next().value as ManifestEntry | undefined)?.at ?? Infinity,
    );
    if (oldest === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.prune();
      this.schedulePrune();
    }, Math.max(0, oldest + this.ttlMs - this.now()) + 1);
    this.timer.unref();
  }
}
