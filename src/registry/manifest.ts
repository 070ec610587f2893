/**
 * Manifest bytes → a typed view, validated at the edge (STYLE 12). The bytes themselves are
 * never re-serialized: the digest is the identity. Accepted: OCI image manifest and index
 * (image-spec v1.1), Docker schema 2 manifest and manifest list. Schema 1 is refused: its
 * digest covers a signature, not the content, and Docker removed it.
 */
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { isValidDigest } from './reference';
import { MediaTypes, type ParsedManifest } from './types';

/** Manifests larger than this are refused (the limit the OCI distribution spec suggests registries apply). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

/**
 * Layers one image manifest may list. Neither the image spec nor the distribution spec bounds
 * the count (only the 4 MiB above, ~25,000 descriptors), but no runtime can run such an image:
 * Docker refuses to build more than 127 layers and overlay filesystems stack a few hundred lower
 * layers at most. 1,000 leaves room for squash-free builds and other runtimes while keeping one
 * manifest's parsed layer list small.
 */
export const MAX_LAYERS_PER_MANIFEST = 1000;

export const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);
export const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MediaTypes.dockerSchema1, MediaTypes.dockerSchema1Signed]);

/** The Accept header of manifest reads: every type we can copy, and none we refuse. */
export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest].join(', ');

const platformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
});

const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: z.string().refine(isValidDigest, 'not a valid digest'),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  platform: platformSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  urls: z.array(z.string()).optional(),
});

const imageSchema = z.object({ schemaVersion: z.literal(2), config: descriptorSchema, layers: z.array(descriptorSchema) });
const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptorSchema) });

export type { ParsedManifest } from './types';

function invalid(what: string, why: string): AppError {
  return new AppError('MANIFEST_INVALID', `${what}: ${why}`);
}

/** The media type without parameters (`; charset=utf-8`). */
export function bareType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0].trim().toLowerCase() || undefined;
}

export function isSchema1(mediaType: string | undefined): boolean {
  return mediaType !== undefined && SCHEMA1_TYPES.has(mediaType);
}

/** The parsed form of a manifest just read: the client's own parse when it kept it, else parsed here. */
export function parsedManifest(m: { body: Buffer; mediaType: string; parsed?: ParsedManifest }, what = 'manifest'): ParsedManifest {
  return m.parsed ?? parseManifest(m.body, m.mediaType, what);
}

/**
 * Parses manifest bytes. The media type is the body's `mediaType` field when present, else the
 * Content-Type, else inferred from the shape (an OCI manifest may omit the field, image-spec).
 */
export function parseManifest(body: Buffer, contentType: string | undefined, what = 'manifest'): ParsedManifest {
  if (body.length > MAX_MANIFEST_SIZE) throw new AppError('MANIFEST_TOO_LARGE', `${what}: ${body.length} bytes, over the ${MAX_MANIFEST_SIZE}-byte cap`);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid(what, 'not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid(what, 'not a JSON object');
  const obj = json as Record<string, unknown>;
  const header = bareType(contentType);
  const field = typeof obj.mediaType === 'string' ? obj.mediaType : undefined;
  if (obj.schemaVersion === 1 || isSchema1(field) || isSchema1(header)) {
    throw new AppError('MANIFEST_UNSUPPORTED', `${what}: Docker schema 1 manifests are not supported (deprecated, unverifiable); push the image again with a current client`);
  }
  const known = (t: string | undefined) => t !== undefined && (IMAGE_TYPES.has(t) || INDEX_TYPES.has(t));
  const mediaType = field ?? (known(header) ? header : undefined)
    ?? (Array.isArray(obj.manifests) ? MediaTypes.ociIndex : obj.config !== undefined ? MediaTypes.ociManifest : undefined);
  if (!mediaType || !known(mediaType)) {
    throw new AppError('MANIFEST_UNSUPPORTED', `${what}: unsupported media type ${mediaType ?? header ?? '(none)'}`);
  }
  if (INDEX_TYPES.has(mediaType)) {
    const r = indexSchema.safeParse(obj);
    if (!r.success) throw invalid(what, `not a valid index (${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message})`);
    return { kind: 'index', mediaType, manifests: r.data.manifests };
  }
  // Counted before the schema builds a typed copy of every descriptor.
  if (Array.isArray(obj.layers) && obj.layers.length > MAX_LAYERS_PER_MANIFEST) {
    throw new AppError('MANIFEST_TOO_LARGE', `${what}: ${obj.layers.length} layers, over the cap of ${MAX_LAYERS_PER_MANIFEST}`);
  }
  const r = imageSchema.safeParse(obj);
  if (!r.success) throw invalid(what, `not a valid image manifest (${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message})`);
  return { kind: 'image', mediaType, config: r.data.config, layers: r.data.layers };
}
