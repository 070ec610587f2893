/**
 * Resolves what the builtin scanner reads for one digest: the image manifest (OCI or Docker
 * schema 2) or, for an index, every runnable child (../image-children.ts, judged by content),
 * each with its config. Every child is scanned because the approval covers the whole index: an
 * arm64-only vulnerable package must not pass because amd64 was clean.
 */
import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { formatPlatform, type Descriptor } from '../../registry';
import { imagesToScan } from '../image-children';
import type { ScanTarget } from '../types';
import { readCapped } from './read-capped';

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
  /** Digest of the single-platform manifest that is scanned. */
  manifestDigest: string;
  /** `os/arch[/variant]` from the index entry; unset when the target is a single image. */
  platform?: string;
  config: ImageConfig;
  layers: Descriptor[];
}

/** Image configs are small; a bigger one is not trusted. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

function parseConfig(body: Buffer, what: string): ImageConfig {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AppError('SCAN_FAILED', `${what} is not JSON`, { cause: err });
  }
  const parsed = imageConfigSchema.safeParse(json);
  if (!parsed.success) throw new AppError('SCAN_FAILED', `${what} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
  return parsed.data;
}

async function readConfig(target: ScanTarget, config: Descriptor): Promise<ImageConfig> {
  const what = `image config ${config.digest}`;
  const stream = await target.registry.getBlob(target.repository, config.digest, config.size);
  return parseConfig(await readCapped(stream, MAX_CONFIG_BYTES, what), what);
}

/** The images to scan for `target.digest`, in index order (one for a single-platform image). */
export async function resolveImages(target: ScanTarget): Promise<ResolvedImage[]> {
  const images = await imagesToScan(target);
  const resolved: ResolvedImage[] = [];
  for (const image of images) {
    resolved.push({
      manifestDigest: image.digest,
      ...(image.platforms ? { platform: image.platforms.map(formatPlatform).join(',') } : {}),
      config: await readConfig(target, image.config),
      layers: image.layers,
    });
  }
  return resolved;
}
