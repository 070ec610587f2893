/**
 * Attaches an SBOM to an image in a registry as an OCI 1.1 referrer (issue 12.7), so that any
 * OCI tool finds it: an image manifest with `artifactType: application/vnd.cyclonedx+json`,
 * the empty config (image-spec 1.1 `application/vnd.oci.empty.v1+json`), the SBOM as its one
 * layer, and `subject` = the image's manifest descriptor.
 *
 * docker-registry 2.8 has no referrers API (`GET /v2/<name>/referrers/<digest>` answers 404),
 * so, as the distribution spec 1.1 ("Unavailable Referrers API") requires of a client pushing
 * a manifest with a subject, the referrers tag schema is maintained as well: the image index
 * tagged `<alg>-<hex>` (the subject digest's algorithm truncated to 32 characters, a hyphen,
 * the encoded part truncated to 64) lists every referrer's descriptor with its artifactType.
 * Updating that tag is a read-modify-write the spec leaves to clients, and docker-registry has
 * no conditional PUT: writers of one index take turns (./referrer-lock.ts: in-process, and
 * across processes through a Redis lease), and the index is re-read after the write and the
 * update made again when another writer's version replaced ours anyway.
 *
 * When the image goes (revocation, quarantine purge), its SBOM referrers go too
 * ({@link detachSboms}): a referrer whose subject is gone would stay listed under a tag that
 * still names the deleted digest, and an OCI tool would find an SBOM of an image that is not there.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError, isAppError } from '../../lib/errors';
import { RegistryError, withRetry } from '../../registry';
import { MediaTypes, type Descriptor, type ManifestResponse, type RegistryClient, type RegistryWriter } from '../../registry/types';
import { CYCLONEDX_MEDIA_TYPE } from './cyclonedx';
import { withReferrersLock, type ReferrerLockOptions } from './referrer-lock';

/** How writers of one referrers index take turns (./referrer-lock.ts). */
export type ReferrerOptions = ReferrerLockOptions;

export const EMPTY_MEDIA_TYPE = 'application/vnd.oci.empty.v1+json';
const EMPTY_BYTES = Buffer.from('{}');
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const EMPTY_DIGEST = sha256(EMPTY_BYTES);

/** The referrers tag of a digest (distribution spec 1.1, "Referrers Tag Schema"). */
export function referrersTag(digest: string): string {
  const colon = digest.indexOf(':');
  const alg = digest.slice(0, colon).slice(0, 32).replace(/[^a-zA-Z0-9_.-]/g, '-');
  const encoded = digest.slice(colon + 1).slice(0, 64).replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `${alg}-${encoded}`;
}

const indexSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(z.looseObject({ mediaType: z.string(), digest: z.string(), size: z.number() })),
});

function isWriter(r: RegistryClient): r is RegistryWriter {
  return typeof (r as Partial<RegistryWriter>).uploadBlob === 'function';
}

async function ensureBlob(registry: RegistryWriter, repository: string, body: Buffer, digest: string): Promise<void> {
  if (await registry.headBlob(repository, digest)) return;
  await uploadSmall(registry, repository, body, digest);
}

function uploadSmall(registry: RegistryWriter, repository: string, body: Buffer, digest: string): Promise<void> {
  // No copy kept for a read after it (staged blobs): nothing reads an SBOM's blob back here.
  return registry.uploadBlob(repository, digest, body.length, Readable.from([body]), { copy: null });
}

/** A repository of each registry (by URL) that this process last found holding the empty config blob. */
const emptyBlobAt = new Map<string, string>();
/** Repositories (with their registry's URL) known to hold the empty config blob, least recently used first. */
const emptyBlobIn = new Map<string, true>();
const EMPTY_KNOWN_MAX = 1024;
const emptyKey = (registry: RegistryClient, repository: string): string => `${registry.url} ${repository}`;

/**
 * The empty config blob in `repository`: nothing to do where this process put or found it
 * already (a mount into a repository that holds the blob is still a write: docker-registry's
 * filesystem driver rewrites the link file, which a concurrent reader can find empty); else
 * mounted from the repository where this process last found it (one request: a mount the
 * registry accepts links a blob it holds under that digest), else checked and uploaded (HEAD,
 * POST, PUT). Every attach is to a new repository in a burst of requests for distinct images,
 * so this was 3 requests per scan (issue 17).
 */
async function ensureEmpty(registry: RegistryWriter, repository: string): Promise<void> {
  const key = emptyKey(registry, repository);
  if (emptyBlobIn.delete(key)) {
    emptyBlobIn.set(key, true);
    return;
  }
  const from = emptyBlobAt.get(registry.url);
  const mounted = from !== undefined && from !== repository && await registry.mountBlob(repository, EMPTY_DIGEST, from).catch(() => false);
  if (!mounted) await ensureBlob(registry, repository, EMPTY_BYTES, EMPTY_DIGEST);
  emptyBlobAt.set(registry.url, repository);
  emptyBlobIn.set(key, true);
  if (emptyBlobIn.size > EMPTY_KNOWN_MAX) emptyBlobIn.delete(emptyBlobIn.keys().next().value as string);
}

/**
 * Writes the artifact manifest. A repository known to hold the empty config blob may have lost
 * it since (its artifacts deleted, then the registry's garbage collection): the registry then
 * refuses the manifest (MANIFEST_BLOB_UNKNOWN), and the blob is put there again, once.
 */
async function putArtifact(registry: RegistryWriter, repository: string, manifest: Buffer): Promise<string> {
  const put = () => registry.putManifest(repository, sha256(manifest), manifest, MediaTypes.ociManifest);
  try {
    return await put();
  } catch (err) {
    // Only a registry that does not have the blob: docker-registry's answer to a manifest PUT
    // during a concurrent write of the same link file names MANIFEST_BLOB_UNKNOWN too, beside
    // DIGEST_INVALID (temporary, ../../registry/client.ts concurrentWrite); writing the blob
    // again then would be one more write to that file, so that one is retried as it is.
    if (!(err instanceof RegistryError && !err.temporary && err.hasCode('MANIFEST_BLOB_UNKNOWN'))) throw err;
    emptyBlobIn.delete(emptyKey(registry, repository));
    if (emptyBlobAt.get(registry.url) === repository) emptyBlobAt.delete(registry.url);
    await ensureEmpty(registry, repository);
    return put();
  }
}

export interface AttachedReferrer {
  /** Digest of the artifact manifest. */
  digest: string;
  /**
   * The referrers tag updated; null when that tag holds something other than an image index
   * (an image tagged `sha256-<hex>`: a digest-only approval promoted before approvals were
   * tagged `digest-<hex>`, or someone else's): it is left alone, never overwritten.
   */
  tag: string | null;
}

/** A referrers index entry: an artifact manifest's descriptor with its artifactType. */
type Listed = Descriptor & { artifactType?: string };
/** What a change does to the listed entries: the new list, or null when nothing needs writing. */
type Change = (listed: Listed[]) => Listed[] | null;
/** Whether the entries re-read after a write hold what the change meant. */
type Check = (listed: Listed[]) => boolean;

const ATTEMPTS = 5;
/**
 * Attach and detach are idempotent, so a temporary registry failure (5xx, reset) redoes the
 * whole operation: docker-registry's filesystem driver answers 500 to a HEAD of a blob or tag
 * that another process is writing at that moment (several attaches share the empty config blob).
 */
const RETRY = { retries: 4, baseMs: 250 };

/**
 * Applies `change` to the referrers index under `tag` as its one writer (./referrer-lock.ts),
 * then re-reads it: a writer outside Portcullis, or our lease lapsing mid-write, can still
 * replace our version, and then the change is made again on what is there. An emptied index
 * is deleted (by digest, which removes its tag), not left behind as an empty list.
 * Returns false when the tag holds something that is not a referrers index (left alone).
 */
async function updateIndex(registry: RegistryWriter, repository: string, subject: string, tag: string, options: ReferrerOptions, change: Change, check: Check): Promise<boolean> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    // Each attempt is one turn: a turn whose lease lapsed mid-write (its holder stalled past the TTL) proves nothing.
    const outcome = await withReferrersLock(repository, subject, options, async (held): Promise<'done' | 'unlisted' | 'again'> => {
      const current = await readTag(registry, repository, tag);
      if (current === null) return 'unlisted';
      const next = change(current.listed);
      if (next === null) return 'done';
      if (next.length === 0) {
        if (current.digest) await registry.deleteManifest(repository, current.digest);
      } else {
        const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: next }));
        await registry.putManifest(repository, tag, index, MediaTypes.ociIndex);
      }
      const after = await readTag(registry, repository, tag);
      return after !== null && held() && check(after.listed) ? 'done' : 'again';
    });
    if (outcome !== 'again') return outcome === 'done';
  }
  throw new AppError('CONFLICT', `the referrers tag ${repository}:${tag} kept changing under concurrent writers`, { temporary: true });
}

/**
 * Pushes `sbom` as a referrer of `subjectDigest` in `repository` and lists it under the
 * referrers tag; idempotent (the same SBOM gives the same artifact digest, listed once).
 * Concurrent attaches to one subject each end listed (`options.locks` makes that hold across
 * processes; without it, only inside this one).
 * @throws AppError NOT_FOUND when the subject is not in the repository.
 * @throws AppError CONFLICT when another writer held the index too long, or it kept changing (a writer outside Portcullis).
 * @throws AppError MANIFEST_INVALID or MANIFEST_TOO_LARGE when the referrers tag holds a broken manifest.
 */
export async function attachSbom(registry: RegistryClient, repository: string, subjectDigest: string, sbom: Buffer, created: string, options: ReferrerOptions = {}): Promise<AttachedReferrer> {
  if (!isWriter(registry)) throw new AppError('INTERNAL', 'the registry client cannot upload blobs');
  return withRetry(() => attachOnce(registry, repository, subjectDigest, sbom, created, options), RETRY);
}

async function attachOnce(registry: RegistryWriter, repository: string, subjectDigest: string, sbom: Buffer, created: string, options: ReferrerOptions): Promise<AttachedReferrer> {
  const subject = await registry.headManifest(repository, subjectDigest);
  if (!subject) throw new AppError('NOT_FOUND', `${repository}@${subjectDigest} is not in the registry`);
  const sbomDigest = sha256(sbom);
  await ensureEmpty(registry, repository);
  // Uploaded without asking first: an SBOM carries its scan's time, so each attach's blob is
  // new (a HEAD answered 404 every time); uploading a blob the registry has is harmless.
  await uploadSmall(registry, repository, sbom, sbomDigest);
  const annotations = { 'org.opencontainers.image.created': created };
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    artifactType: CYCLONEDX_MEDIA_TYPE,
    config: { mediaType: EMPTY_MEDIA_TYPE, digest: EMPTY_DIGEST, size: EMPTY_BYTES.length, data: EMPTY_BYTES.toString('base64') },
    layers: [{ mediaType: CYCLONEDX_MEDIA_TYPE, digest: sbomDigest, size: sbom.length, annotations: { 'org.opencontainers.image.title': 'sbom.cdx.json' } }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  }));
  const digest = await putArtifact(registry, repository, manifest);
  const entry: Listed & { artifactType: string } = { mediaType: MediaTypes.ociManifest, digest, size: manifest.length, artifactType: CYCLONEDX_MEDIA_TYPE, annotations };
  const tag = referrersTag(subject.digest);
  const has = (listed: Listed[]): boolean => listed.some((d) => d.digest === digest);
  const listed = await updateIndex(registry, repository, subject.digest, tag, options, (l) => (has(l) ? null : [...l, entry]), has);
  return { digest, tag: listed ? tag : null };
}

export interface DetachedReferrers {
  /** Digests of the SBOM artifact manifests deleted. */
  removed: string[];
  /** The referrers tag, gone unless other (not CycloneDX) referrers are still listed; null when it holds something that is not an index. */
  tag: string | null;
}

/**
 * Takes the SBOM referrers of `subjectDigest` out of `repository` (the image is about to be
 * deleted: a revocation's unpublish, a quarantine purge): they leave the referrers index, the
 * index goes with its tag once nothing else is listed, and their artifact manifests are
 * deleted. Referrers of other artifact types (someone's signature) are not Portcullis's to
 * delete and stay listed. Idempotent; the subject need not be there any more.
 * @throws AppError MANIFEST_INVALID or MANIFEST_TOO_LARGE when the referrers tag holds a broken manifest.
 */
export function detachSboms(registry: RegistryWriter, repository: string, subjectDigest: string, options: ReferrerOptions = {}): Promise<DetachedReferrers> {
  // Kept across attempts: an attempt that took them out of the index and then failed (a registry
  // fault on the re-read) must still delete their manifests, which the next read no longer lists.
  const removed = new Set<string>();
  return withRetry(() => detachOnce(registry, repository, subjectDigest, options, removed), RETRY);
}

async function detachOnce(registry: RegistryWriter, repository: string, subjectDigest: string, options: ReferrerOptions, removed: Set<string>): Promise<DetachedReferrers> {
  const tag = referrersTag(subjectDigest);
  const ours = (d: Listed): boolean => d.artifactType === CYCLONEDX_MEDIA_TYPE;
  const listed = await updateIndex(registry, repository, subjectDigest, tag, options, (l) => {
    const mine = l.filter(ours);
    for (const d of mine) removed.add(d.digest);
    return mine.length ? l.filter((d) => !ours(d)) : null;
  }, (l) => !l.some(ours));
  // The artifacts go after the index stops listing them: no reader is sent to a missing manifest.
  for (const digest of removed) {
    if (await registry.headManifest(repository, digest)) await registry.deleteManifest(repository, digest);
  }
  return { removed: [...removed], tag: listed ? tag : null };
}

/**
 * The referrers index under `tag` with its digest (none listed when absent); null when the tag
 * holds something else (an image, a platform index, schema 1). A broken manifest throws.
 */
async function readTag(registry: RegistryClient, repository: string, tag: string): Promise<{ digest: string | null; listed: Listed[] } | null> {
  // One GET, not a HEAD and then a GET (issue 17: the read after each write is one request less).
  let res: ManifestResponse;
  try {
    res = await registry.getManifest(repository, tag);
  } catch (err) {
    if (err instanceof RegistryError && err.httpStatus === 404) return { digest: null, listed: [] };
    // A kind of manifest we do not read (schema 1, an unknown media type): not a referrers index,
    // left alone. A broken one (too large, invalid) may be a referrers index all the same: its
    // error stands, so an attach is not reported done unlisted, nor a detach done deleting nothing.
    if (isAppError(err) && !err.temporary && err.code === 'MANIFEST_UNSUPPORTED') return null;
    throw err;
  }
  if (res.mediaType !== MediaTypes.ociIndex) return null;
  let json: unknown;
  try {
    json = JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new AppError('MANIFEST_INVALID', `${repository}:${tag}: an OCI index that is not JSON`);
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) throw new AppError('MANIFEST_INVALID', `${repository}:${tag}: not a valid OCI index`);
  const listed = parsed.data.manifests as Listed[];
  // An image index of platform images (a multi-arch approval tagged `sha256-<hex>` before approvals were `digest-<hex>`) is
  // not a referrers list: every entry of a referrers list carries an artifactType.
  return listed.every((d) => typeof d.artifactType === 'string') ? { digest: res.digest, listed } : null;
}

/**
 * The descriptors listed under the referrers tag; none when the tag does not exist; null when
 * the tag holds something that is not an image index (not ours to replace).
 */
export async function readIndex(registry: RegistryClient, repository: string, tag: string): Promise<Listed[] | null> {
  return (await readTag(registry, repository, tag))?.listed ?? null;
}
