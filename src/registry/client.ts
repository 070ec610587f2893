/**
 * The Distribution API client (OCI distribution-spec v1.1) for one registry: manifests
 * (capped, digest-verified, schema 1 refused), blobs (streamed and verified), tags, uploads
 * and mounts. Auth, redirects and errors are handled by the session.
 */
import type { IncomingMessage } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import { AppError } from '../lib/errors';
import { BodyTooLarge, readBody } from '../lib/http';
import { repositoryScope } from './auth';
import { bareType, isSchema1, MANIFEST_ACCEPT, MAX_MANIFEST_SIZE, parseManifest } from './manifest';
import { isValidDigest } from './reference';
import { RegistryError } from './errors';
import { header, Session, type SessionOptions } from './session';
import { StagedCopy, type StagedBlobs } from './staged-blobs';
import type { BlobInfo, BlobReadOptions, ManifestResponse, PutManifestOptions, RegistryWriter, ReservedCopy, UploadJournal, UploadOptions, WholeBlob } from './types';
import { cancelUpload, mountBlob, uploadBlob, type CancelOutcome } from './upload';
import { digestOf, DigestVerifier, mismatch, VerifiedCopy } from './verify';

/** How to reach one registry, and how to upload to it. */
export interface ClientOptions extends SessionOptions {
  /**
   * Upload blobs in PATCH chunks of this many bytes (raised to the registry's
   * OCI-Chunk-Min-Length), for registries or proxies that refuse large request bodies.
   * @defaultValue undefined: one streaming PUT per blob
   */
  chunkSize?: number;
  /** Notes open upload sessions, so that a killed process's sessions can be cancelled by another. */
  uploadJournal?: UploadJournal;
  /**
   * Keeps the bytes of blobs just uploaded, so that reading them back (the scan of a staged
   * image) does not go to the registry (./staged-blobs.ts). @defaultValue none
   */
  stagedBlobs?: StagedBlobs;
}

/** Tag lists are JSON; a page bigger than this is refused. */
const MAX_TAGS_PAGE = 16 * 1024 * 1024;

function algorithmOf(digest: string): string {
  return digest.split(':')[0];
}

function contentLength(res: IncomingMessage): number | undefined {
  const v = header(res, 'content-length');
  return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
}

export class DistributionClient implements RegistryWriter {
  readonly url: string;
  readonly session: Session;

  constructor(private readonly options: ClientOptions) {
    this.session = new Session(options);
    this.url = this.session.base.href.replace(/\/+$/, '');
  }

  async ping(): Promise<void> {
    const res = await this.session.must({ method: 'GET', url: '/v2/', scopes: [], ok: [200], what: `ping ${this.url}` });
    res.resume();
  }

  async headManifest(repository: string, reference: string): Promise<{ digest: string; mediaType: string; size: number } | null> {
    const res = await this.session.call({
      method: 'HEAD', url: `/v2/${repository}/manifests/${reference}`, scopes: [repositoryScope(repository, 'pull')],
      headers: { accept: MANIFEST_ACCEPT }, ok: [200], nullOn404: true, follow: true, what: `HEAD manifest ${repository}:${reference}`,
    });
    if (!res) return null;
    res.resume();
    const mediaType = bareType(header(res, 'content-type')) ?? '';
    if (isSchema1(mediaType)) throw new AppError('MANIFEST_UNSUPPORTED', `${repository}:${reference} is a Docker schema 1 manifest, which is not supported`);
    const digest = isValidDigest(reference) ? reference : header(res, 'docker-content-digest');
    const size = contentLength(res);
    if (!digest || size === undefined || !mediaType) {
      // Some registries omit Docker-Content-Digest on HEAD: read the manifest to know it.
      const m = await this.getManifest(repository, reference);
      return { digest: m.digest, mediaType: m.mediaType, size: m.size };
    }
    return { digest, mediaType, size };
  }

  async getManifest(repository: string, reference: string): Promise<ManifestResponse> {
    const what = `manifest ${repository}:${reference}`;
    const kept = isValidDigest(reference) ? this.options.stagedBlobs?.takeManifest(repository, reference) : undefined;
    // Checked like a registry's answer: the bytes must hash to the digest asked for.
    if (kept && digestOf(kept.body, algorithmOf(reference)) === reference) {
      const parsed = parseManifest(kept.body, kept.mediaType, what);
      return { digest: reference, mediaType: parsed.mediaType, size: kept.body.length, body: kept.body, parsed };
    }
    const res = await this.session.must({
      method: 'GET', url: `/v2/${repository}/manifests/${reference}`, scopes: [repositoryScope(repository, 'pull')],
      headers: { accept: MANIFEST_ACCEPT }, ok: [200], follow: true, what: `GET ${what}`,
    });
    const declared = contentLength(res);
    if (declared !== undefined && declared > MAX_MANIFEST_SIZE) {
      res.destroy();
      throw new AppError('MANIFEST_TOO_LARGE', `${what}: ${declared} bytes, over the ${MAX_MANIFEST_SIZE}-byte cap`);
    }
    const body = await readCapped(res, MAX_MANIFEST_SIZE, what);
    const byRef = isValidDigest(reference) ? reference : undefined;
    const served = header(res, 'docker-content-digest');
    for (const expected of [byRef, served]) {
      const got = expected && isValidDigest(expected) ? digestOf(body, algorithmOf(expected)) : expected;
      if (got !== expected) throw mismatch(`${what}: content hashes to ${got}, not ${expected}`, { digest: expected, got });
    }
    const parsed = parseManifest(body, header(res, 'content-type'), what);
    return { digest: byRef ?? digestOf(body), mediaType: parsed.mediaType, size: body.length, body, parsed };
  }

  async putManifest(repository: string, reference: string, body: Buffer, mediaType: string, options: PutManifestOptions = {}): Promise<string> {
    if (body.length > MAX_MANIFEST_SIZE) throw new AppError('MANIFEST_TOO_LARGE', `manifest for ${repository}: over the ${MAX_MANIFEST_SIZE}-byte cap`);
    const digest = digestOf(body);
    const res = await this.session.must({
      method: 'PUT', url: `/v2/${repository}/manifests/${reference}`, scopes: [repositoryScope(repository, 'push')],
      headers: { 'content-type': mediaType }, body, ok: [201, 200], what: `PUT manifest ${repository}:${reference}`,
    }).catch((err: unknown) => { throw concurrentWrite(err, reference, digest); });
    res.resume();
    const served = header(res, 'docker-content-digest');
    if (served && algorithmOf(served) === 'sha256' && served !== digest) {
      throw mismatch(`PUT manifest ${repository}:${reference}: registry stored ${served}, sent ${digest}`, { digest, got: served });
    }
    // Written by digest (a quarantined image's manifests are never tagged) when the caller asks:
    // the scan that follows the copy reads it back by that digest (./staged-blobs.ts).
    if (options.keep && reference === digest) this.options.stagedBlobs?.keepManifest(repository, digest, body, mediaType);
    return digest;
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    const res = await this.session.must({
      method: 'DELETE', url: `/v2/${repository}/manifests/${digest}`, scopes: [`repository:${repository}:delete`, repositoryScope(repository, 'push')],
      ok: [202, 200], what: `DELETE manifest ${repository}@${digest}`,
    });
    res.resume();
  }

  async headBlob(repository: string, digest: string): Promise<BlobInfo | null> {
    const res = await this.session.call({
      method: 'HEAD', url: `/v2/${repository}/blobs/${digest}`, scopes: [repositoryScope(repository, 'pull')],
      ok: [200], nullOn404: true, follow: true, what: `HEAD blob ${repository}@${digest}`,
    });
    if (!res) return null;
    res.resume();
    return { digest, size: contentLength(res) ?? -1 };
  }

  async getBlob(repository: string, digest: string, expectedSize?: number, opts: BlobReadOptions = {}): Promise<Readable> {
    const kept = this.options.stagedBlobs?.take(repository, digest);
    // Verified already: these are the bytes that hashed to the digest when they were copied in
    // (see ./staged-blobs.ts), so they are served without hashing them again.
    if (kept && (expectedSize === undefined || kept.size === expectedSize)) {
      // A read that fills a copy for an upload elsewhere gets it filled from the kept copy (no
      // second hash), as a registry read would fill it while verifying.
      const wanted = opts.copyInto;
      if (wanted instanceof VerifiedCopy) wanted.fillFrom(kept);
      return keptStream(kept.bytes);
    }
    const res = await this.session.must({
      method: 'GET', url: `/v2/${repository}/blobs/${digest}`, scopes: [repositoryScope(repository, 'pull')],
      ok: [200], follow: true, signal: opts.signal, what: `GET blob ${repository}@${digest}`,
    });
    const declared = contentLength(res);
    if (expectedSize !== undefined && declared !== undefined && declared !== expectedSize) {
      res.destroy();
      throw mismatch(`blob ${digest}: registry announces ${declared} bytes, expected ${expectedSize}`, { digest, size: expectedSize, got: declared });
    }
    const size = expectedSize ?? declared;
    // A copy of another blob or size is not filled (it stays unverified, so nothing keeps it).
    const wanted = opts.copyInto;
    const copy = wanted instanceof VerifiedCopy && wanted.digest === digest && wanted.size === size ? wanted : undefined;
    const verifier = new DigestVerifier(digest, size, copy);
    pipeline(res, verifier, () => undefined);
    return verifier;
  }

  async listTags(repository: string): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | undefined = new URL(`/v2/${repository}/tags/list?n=1000`, this.session.base);
    for (let page = 0; url && page < 1000; page++) {
      const res: IncomingMessage = await this.session.must({
        method: 'GET', url, scopes: [repositoryScope(repository, 'pull')], ok: [200], follow: true, what: `tags of ${repository}`,
      });
      const body = await readCapped(res, MAX_TAGS_PAGE, `tags of ${repository}`);
      const json = JSON.parse(body.toString('utf8')) as { tags?: unknown };
      if (Array.isArray(json.tags)) tags.push(...json.tags.filter((t): t is string => typeof t === 'string'));
      // Pagination: Link: <...>; rel="next" (distribution-spec "Listing Tags").
      const next = /<([^>]+)>;\s*rel="?next"?/.exec(header(res, 'link') ?? '');
      url = next ? new URL(next[1], url) : undefined;
    }
    return tags;
  }

  mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    return mountBlob(this.session, repository, digest, fromRepository);
  }

  /**
   * A copy of a blob about to be uploaded to `repository`, for the read of its source to fill
   * as it verifies it ({@link BlobReadOptions.copyInto}); passed to {@link uploadBlob}, it is
   * kept for the read that follows the upload (./staged-blobs.ts) without a second hash. Null
   * when this client keeps nothing, or no room is left. {@link ReservedCopy.release} it when
   * its upload is not made.
   */
  reserveCopy(repository: string, digest: string, size: number): ReservedCopy | null {
    return this.options.stagedBlobs?.reserve(repository, digest, size) ?? null;
  }

  async uploadBlob(repository: string, digest: string, size: number, body: Readable, opts: UploadOptions = {}): Promise<void> {
    const options = { chunkSize: this.options.chunkSize, signal: opts.signal, journal: this.options.uploadJournal };
    const staged = this.options.stagedBlobs;
    if (!staged) return uploadBlob(this.session, repository, digest, size, body, options);
    let copy = opts.copy instanceof StagedCopy ? opts.copy : null;
    if (opts.copy === undefined) {
      // Nobody made a copy while reading the source: the upload makes one, verifying its body.
      copy = staged.reserve(repository, digest, size);
      if (copy) {
        const verifier = new DigestVerifier(digest, size, copy);
        // pipeline, not pipe: a source that fails fails the upload's body too.
        pipeline(body, verifier, () => undefined);
        body = verifier;
      }
    }
    try {
      await uploadBlob(this.session, repository, digest, size, body, options);
      // Only now: the registry answered 201, so it holds exactly these bytes under `digest`.
      if (copy) staged.keep(copy, repository, digest);
    } finally {
      // A failed upload keeps nothing and gives its room back.
      if (copy) staged.release(copy);
    }
  }

  /** Cancels an upload session (DELETE its URL, distribution-spec); best effort, says what happened. */
  cancelUpload(repository: string, location: URL): Promise<CancelOutcome> {
    return cancelUpload(this.session, repository, location);
  }

  /** Closes pooled connections. */
  close(): void {
    this.session.close();
  }
}

/**
 * A DIGEST_INVALID answer to a manifest PUT whose bytes do hash to the digest it names (or that
 * names a tag) is about the registry's own storage, not these bytes: docker-registry checks that
 * every manifest or blob a manifest refers to exists by reading its link file, and its filesystem
 * storage rewrites link files in place (truncate, then write), so a check that lands while another
 * client pushes the same content into the repository reads an empty link ("DIGEST_INVALID;
 * MANIFEST_BLOB_UNKNOWN"). That passes once the other write ends: temporary, so it is retried.
 */
function concurrentWrite(err: unknown, reference: string, digest: string): unknown {
  if (!(err instanceof RegistryError) || !err.hasCode('DIGEST_INVALID') || err.temporary) return err;
  if (isValidDigest(reference) && reference !== digest) return err;
  return new RegistryError(err.code, err.message, { cause: err, temporary: true, httpStatus: err.httpStatus, errors: err.errors, details: err.details });
}

const BLOCK = 1024 * 1024;

/**
 * A kept blob as the reader gets it: 1 MiB views of its buffer (not one chunk of its whole
 * size), or the whole buffer to a reader that moves it elsewhere ({@link WholeBlob}: the scan
 * threads, which so get a staged layer without a copy).
 */
function keptStream(bytes: Buffer): Readable & WholeBlob {
  let at = 0;
  const stream = new Readable({
    read() {
      if (at >= bytes.length) {
        this.push(null);
        return;
      }
      this.push(bytes.subarray(at, at + BLOCK));
      at += BLOCK;
    },
  }) as Readable & WholeBlob;
  stream.takeWhole = () => {
    if (at > 0 || stream.destroyed) return null;
    at = bytes.length;
    stream.destroy();
    return bytes;
  };
  return stream;
}

async function readCapped(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  try {
    return (await readBody(res, limit, 'error')).body;
  } catch (err) {
    if (err instanceof BodyTooLarge) throw new AppError('MANIFEST_TOO_LARGE', `${what}: over the ${limit}-byte cap`);
    throw err;
  }
}
