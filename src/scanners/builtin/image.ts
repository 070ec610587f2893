/**
 * Resolves the image to scan from its digest: manifest (OCI or Docker schema 2) → config →
 * layers. For an index (multi-platform image) the linux/amd64 child is scanned, else the
 * first linux child: the package set is the same across architectures in practice, and
 * scanning every child would multiply the cost for no new findings. Attestation manifests
 * (platform `unknown/unknown`) are never picked.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { MediaTypes, type RegistryClient } from '../../registry/types';

const descriptorSchema = z.object({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/),
  size: z.number().int().nonnegative(),
  platform: z.object({ os: z.string(), architecture: z.string(), variant: z.string().optional() }).optional(),
});
export type LayerDescriptor = z.infer<typeof descriptorSchema>;

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});
const indexSchema = z.object({ schemaVersion: z.literal(2), mediaType: z.string().optional(), manifests: z.array(descriptorSchema) });

/** The parts of the image config the hardening checks read (OCI image-spec config.md). */
export const imageConfigSchema = z.object({
  architecture: z.string().optional(),
  os: z.string().optional(),
  config: z
    .object({
      User: z.string().optional(),
      Env: z.array(z.string()).nullish(),
    })
    .nullish(),
  history: z
    .array(z.object({ created_by: z.string().optional(), empty_layer: z.boolean().optional() }))
    .optional(),
});
export type ImageConfig = z.infer<typeof imageConfigSchema>;

export interface ResolvedImage {
  /** Digest of the single-platform manifest that was scanned. */
  manifestDigest: string;
  config: ImageConfig;
  layers: LayerDescriptor[];
}

/** Image configs are small; a bigger one is not trusted. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

async function readAll(stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > max) {
      stream.destroy();
      throw new AppError('SCAN_LIMIT_EXCEEDED', `${what} exceeds ${max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson<T>(schema: z.ZodType<T>, body: Buffer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AppError('SCAN_FAILED', `${what} is not JSON`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new AppError('SCAN_FAILED', `${what} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

const INDEX_TYPES = new Set<string>([MediaTypes.ociIndex, MediaTypes.dockerManifestList]);

function pickChild(manifests: LayerDescriptor[]): LayerDescriptor {
  const linux = manifests.filter((m) => m.platform?.os === 'linux');
  const child = linux.find((m) => m.platform?.architecture === 'amd64') ?? linux[0];
  if (!child) throw new AppError('SCAN_FAILED', 'image index has no linux image to scan');
  return child;
}

export async function resolveImage(registry: RegistryClient, repository: string, digest: string): Promise<ResolvedImage> {
  let m = await registry.getManifest(repository, digest);
  const isIndex = (body: Buffer, mediaType: string): boolean =>
    INDEX_TYPES.has(mediaType) || (!mediaType && body.includes('"manifests"'));
  if (isIndex(m.body, m.mediaType)) {
    const index = parseJson(indexSchema, m.body, 'image index');
    m = await registry.getManifest(repository, pickChild(index.manifests).digest);
    if (isIndex(m.body, m.mediaType)) throw new AppError('SCAN_FAILED', 'nested image indexes are not supported');
  }
  const manifest = parseJson(manifestSchema, m.body, 'image manifest');
  const configStream = await registry.getBlob(repository, manifest.config.digest, manifest.config.size);
  const config = parseJson(imageConfigSchema, await readAll(configStream, MAX_CONFIG_BYTES, 'image config'), 'image config');
  return { manifestDigest: m.digest, config, layers: manifest.layers };
}
