/** Request bodies and queries of the v1 API, as zod schemas (strict: unknown fields are refused). */
import { z } from 'zod';
import { REQUEST_STATUSES, type IntakeRequest, type RequestSummary } from '../../intake';

const text = (max: number) => z.string().trim().max(max);
const limit = z.coerce.number().int().min(1).max(200).default(50);
const cursor = z.string().min(1).max(200).optional();

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;
const platform = z.string().regex(PLATFORM, 'platform like linux/amd64 or linux/arm/v7');

export const createRequestBody = z.strictObject({
  image: z.string().min(1).max(512),
  team: z.string().min(1).max(100),
  justification: text(2000).min(1),
  platforms: z.array(platform).max(16).optional(),
});

export const listRequestsQuery = z.strictObject({
  status: z.enum(REQUEST_STATUSES).optional(),
  team: z.string().min(1).max(100).optional(),
  limit,
  cursor,
});

export const pageQuery = z.strictObject({ limit, cursor });

export const approveBody = z.strictObject({ comment: text(2000).default('') });
export const rejectBody = z.strictObject({ reason: text(2000).min(1) });

/** `platform` repeated (`?platform=a&platform=b`) or as a comma list (`?platform=a,b`). */
const platformQuery = z.union([z.string().max(400), z.array(z.string().max(400)).max(16)]).optional()
  .transform((v) => (v === undefined ? [] : [v].flat().flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)))
  .pipe(z.array(platform).max(16));

/** With `image`: CI's lookup; without: the team's approved inventory, a page at a time. */
export const approvedQuery = z.strictObject({
  image: z.string().min(1).max(512).optional(),
  team: z.string().min(1).max(100),
  platform: platformQuery,
  limit,
  cursor,
});
export const resolveBody = z.strictObject({ team: z.string().min(1).max(100), images: z.array(z.string().min(1).max(512)).min(1).max(500) });
const digest = z.string().regex(/^sha256:[a-f0-9]{64}$/, 'a sha256 digest');

/** `{digest}` (every name of it) or `{image}` (one name; a tag, or a digest reference), with a team and a reason. */
export const revokeBody = z.strictObject({
  digest: digest.optional(),
  image: z.string().min(1).max(512).optional(),
  team: z.string().min(1).max(100),
  platforms: z.array(platform).max(16).optional(),
  reason: text(2000).min(1),
}).refine((b) => (b.digest === undefined) !== (b.image === undefined), { message: 'give exactly one of digest or image', path: ['digest'] });

export const unrevokeBody = z.strictObject({
  digest,
  team: z.string().min(1).max(100),
  image: z.string().min(1).max(512).optional(),
  reason: text(2000).min(1),
});

export const auditQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The request as the API shows it, full or in its list form (the store's concurrency counter left out). */
export function toApi<T extends IntakeRequest | RequestSummary>(r: T): Omit<T, 'version'> {
  const { version: _version, ...rest } = r;
  return rest;
}
