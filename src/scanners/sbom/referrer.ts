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
 * Updating that tag is a read-modify-write the spec leaves to clients: the index is re-read
 * after the write and the update retried when another writer's version replaced ours.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { MediaTypes, type Descriptor, type RegistryClient, type RegistryWriter } from '../../registry/types';
import { CYCLONEDX_MEDIA_TYPE } from './cyclonedx';

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
  await registry.uploadBlob(repository, digest, body.length, Readable.from([body]));
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

/**
 * Pushes `sbom` as a referrer of `subjectDigest` in `repository` and lists it under the
 * referrers tag; idempotent (the same SBOM gives the same artifact digest, listed once).
 * @throws AppError NOT_FOUND when the subject is not in the repository.
 */
export async function attachSbom(registry: RegistryClient, repository: string, subjectDigest: string, sbom: Buffer, created: string): Promise<AttachedReferrer> {
  if (!isWriter(registry)) throw new AppError('INTERNAL', 'the registry client cannot upload blobs');
  const subject = await registry.headManifest(repository, subjectDigest);
  if (!subject) throw new AppError('NOT_FOUND', `${repository}@${subjectDigest} is not in the registry`);
  const sbomDigest = sha256(sbom);
  await ensureBlob(registry, repository, EMPTY_BYTES, EMPTY_DIGEST);
  await ensureBlob(registry, repository, sbom, sbomDigest);
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
  const digest = await registry.putManifest(repository, sha256(manifest), manifest, MediaTypes.ociManifest);
  const entry: Descriptor & { artifactType: string } = { mediaType: MediaTypes.ociManifest, digest, size: manifest.length, artifactType: CYCLONEDX_MEDIA_TYPE, annotations };
  const tag = referrersTag(subject.digest);
  for (let attempt = 0; attempt < 5; attempt++) {
    const listed = await readIndex(registry, repository, tag);
    if (listed === null) return { digest, tag: null };
    if (listed.some((d) => d.digest === digest)) return { digest, tag };
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [...listed, entry] }));
    await registry.putManifest(repository, tag, index, MediaTypes.ociIndex);
  }
  throw new AppError('CONFLICT', `the referrers tag ${repository}:${tag} kept changing under concurrent writers`, { temporary: true });
}

/**
 * The descriptors listed under the referrers tag; none when the tag does not exist; null when
 * the tag holds something that is not an image index (not ours to replace).
 */
export async function readIndex(registry: RegistryClient, repository: string, tag: string): Promise<Array<Descriptor & { artifactType?: string }> | null> {
  const head = await registry.headManifest(repository, tag);
  if (!head) return [];
  if (head.mediaType !== MediaTypes.ociIndex) return null;
  const res = await registry.getManifest(repository, tag);
  let json: unknown;
  try {
    json = JSON.parse(res.body.toString('utf8'));
  } catch {
    return null;
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) return null;
  const listed = parsed.data.manifests as Array<Descriptor & { artifactType?: string }>;
  // An image index of platform images (a multi-arch approval tagged `sha256-<hex>` before approvals were `digest-<hex>`) is
  // not a referrers list: every entry of a referrers list carries an artifactType.
  return listed.every((d) => typeof d.artifactType === 'string') ? listed : null;
}
