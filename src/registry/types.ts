/**
 * The contract between the registry layer and everything that reads or writes images
 * (the copy engine, the scanners, the intake pipeline). Implementations live beside this
 * file; callers receive a RegistryClient, they never construct one.
 */
import type { Readable } from 'node:stream';

/** OCI and Docker media types the service understands. */
export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** A manifest as the registry served it: the exact bytes, never re-serialized. */
export interface ManifestResponse {
  /** sha256 digest of `body`, verified when the reference was a digest. */
  digest: string;
  mediaType: string;
  size: number;
  body: Buffer;
  /**
   * `body` as the client already parsed (and validated) it when it read it: a 20,000-entry index
   * costs as much to parse again as to read. Unset from clients that do not keep it.
   */
  parsed?: ParsedManifest;
}

/** A manifest's bytes parsed and validated (./manifest.ts parseManifest). */
export type ParsedManifest =
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] };

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface PutManifestOptions {
  /**
   * Keep a copy of a manifest written by digest for the one read that follows (a client with
   * staged blobs only): set where a staged image is written for its scan, which reads it back
   * right after. Nothing else written is read back, and kept copies would evict the useful ones.
   * @defaultValue false
   */
  keep?: boolean;
}

/** A client of one registry (one base URL, one set of credentials). */
export interface RegistryClient {
  /** Base URL, e.g. `http://127.0.0.1:5000`. */
  readonly url: string;
  /** `GET /v2/`, following the auth challenge; throws a RegistryError when unreachable or refused. */
  ping(): Promise<void>;
  /** Resolves a tag or digest without downloading the manifest body; null when unknown. */
  headManifest(repository: string, reference: string): Promise<{ digest: string; mediaType: string; size: number } | null>;
  /** Reads a manifest (capped, digest-verified). Schema 1 is refused. */
  getManifest(repository: string, reference: string): Promise<ManifestResponse>;
  /** Writes manifest bytes exactly as given under a tag or digest; returns the digest. */
  putManifest(repository: string, reference: string, body: Buffer, mediaType: string, options?: PutManifestOptions): Promise<string>;
  /** Deletes a manifest by digest (the registry must allow deletes). */
  deleteManifest(repository: string, digest: string): Promise<void>;
  /** Null when the blob is not in the repository. */
  headBlob(repository: string, digest: string): Promise<BlobInfo | null>;
  /**
   * Streams a blob. The stream is verified while it flows: it errors with DIGEST_MISMATCH
   * when the bytes do not hash to `digest`, or when their count differs from `expectedSize`.
   */
  getBlob(repository: string, digest: string, expectedSize?: number, opts?: BlobReadOptions): Promise<Readable>;
  /** Lists tags of a repository. */
  listTags(repository: string): Promise<string[]>;
}

/**
 * Where a process notes the upload sessions it has open on the internal registry, so that the
 * sessions of a process killed mid-upload (SIGKILL, OOM, a node lost) can be cancelled by
 * another: a registry keeps an abandoned session (and its partial data) until its own purge,
 * days later. A session is named by its path (`/v2/<repo>/blobs/uploads/<uuid>`), stable
 * across chunks; `location` is the latest URL the registry gave for it (with its `_state`).
 */
export interface UploadJournal {
  opened(repository: string, location: URL): Promise<void>;
  closed(location: URL): Promise<void>;
}

/**
 * A blob's bytes copied into memory of their own while a read verifies them against the digest
 * (src/registry/verify.ts VerifiedCopy), reserved by the writer they are uploaded to
 * ({@link RegistryWriter.reserveCopy}), which keeps them for the read that follows the upload.
 */
export interface ReservedCopy {
  readonly digest: string;
  readonly size: number;
  /** Whether every byte came and they hash to the digest. */
  readonly verified: boolean;
  /** Gives back its reservation when its upload is not made; harmless twice or after the upload. */
  release(): void;
}

/**
 * A blob stream that can give its bytes away whole (a staged blob, kept in memory: see
 * src/registry/staged-blobs.ts), so that a reader that moves them elsewhere (a scan thread)
 * takes the buffer instead of copying it out chunk by chunk.
 */
export interface WholeBlob {
  /**
   * The blob's verified bytes in a buffer that owns its whole ArrayBuffer, now the caller's
   * (free to transfer); the stream then ends unread. Null once anything was read from the stream.
   */
  takeWhole(): Buffer | null;
}

/** Whether `stream` can give its bytes away whole ({@link WholeBlob}). */
export function isWholeBlob(stream: unknown): stream is WholeBlob {
  return typeof (stream as Partial<WholeBlob> | null)?.takeWhole === 'function';
}

/** Options of a blob read. */
export interface BlobReadOptions {
  /** Aborts the read. */
  signal?: AbortSignal;
  /**
   * Fill this copy (of the same digest and size) as the stream is verified; it ends verified
   * when the stream ends without error. A client that makes no copies leaves it unverified.
   */
  copyInto?: ReservedCopy;
}

/** Options of a blob upload. */
export interface UploadOptions {
  /** Aborts the upload (the upload session is then cancelled). */
  signal?: AbortSignal;
  /**
   * The copy the source's read made of the body ({@link RegistryWriter.reserveCopy}), kept once
   * the upload is accepted if it is verified; null: keep nothing. @defaultValue undefined: the
   * writer may copy (and verify) the body itself.
   */
  copy?: ReservedCopy | null;
}

/**
 * The write side the copy engine needs beyond {@link RegistryClient}: blob uploads and
 * cross-repository mounts. Kept separate so that read-only consumers and stand-ins need not
 * implement it.
 */
export interface RegistryWriter extends RegistryClient {
  /**
   * Mounts a blob from another repository of the same registry (`POST ?mount=&from=`).
   * Returns false when the registry answered 202 (no mount; the caller uploads instead).
   */
  mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean>;
  /**
   * Uploads a blob from a stream of exactly `size` bytes hashing to `digest`; the registry
   * verifies the digest too. Monolithic PUT, or chunked PATCH when the client is set up for it.
   */
  uploadBlob(repository: string, digest: string, size: number, body: Readable, opts?: UploadOptions): Promise<void>;
  /**
   * A copy of a blob about to be uploaded here, for the source's read to fill
   * ({@link BlobReadOptions.copyInto}) and the upload to keep ({@link UploadOptions.copy}); null
   * when this writer keeps no copies or has no room now. @defaultValue absent: no copies
   */
  reserveCopy?(repository: string, digest: string, size: number): ReservedCopy | null;
}
