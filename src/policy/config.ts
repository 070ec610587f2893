/**
 * The `policy` section of the configuration, with its defaults, as a zod schema the config
 * loader plugs in (`policy: policyConfigSchema.prefault({})`). Unknown keys are refused so a
 * typo stops the process instead of silently weakening the gate.
 */
import { z } from 'zod';
import { SEVERITIES } from '../scanners/types';

/** An ISO 8601 date or date-time; a date without a time expires at 00:00 UTC that day. */
export const expirySchema = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString() : v))
  .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'expected an ISO 8601 date or date-time' });

export const allowlistEntrySchema = z.strictObject({
  /** Finding id or alias (`CVE-2023-5363`, `GHSA-…`, `CIS-4.1-ROOT-USER`). */
  id: z.string().min(1),
  /** Why it is accepted; shown to approvers and auditors. */
  reason: z.string().min(1),
  expires: expirySchema,
  /** Only for these teams. @defaultValue every team */
  teams: z.array(z.string().min(1)).min(1).optional(),
  /**
   * Only for these images: a repository (`docker.io/library/nginx`), a prefix glob
   * (`docker.io/library/*`) or a digest (`sha256:…`). @defaultValue every image
   */
  images: z.array(z.string().min(1)).min(1).optional(),
});
export type AllowlistEntry = z.infer<typeof allowlistEntrySchema>;

export const policyConfigSchema = z.strictObject({
  /** Severities that fail an image. @defaultValue ['critical'] */
  failOn: z.array(z.enum(SEVERITIES)).default(['critical']),
  /** Count only vulnerabilities that have a fixed version. @defaultValue true */
  onlyFixable: z.boolean().default(true),
  /** `block`: every misconfiguration finding blocks; `warn`: they are listed as warnings. @defaultValue 'warn' */
  misconfigurations: z.enum(['block', 'warn']).default('warn'),
  /**
   * `block`: a coverage finding (an OS the scanner could not inventory, a severity it could
   * not score) fails the image; `warn`: it is listed as a warning. @defaultValue 'block'
   */
  coverage: z.enum(['block', 'warn']).default('block'),
  /** Whether SARIF evidence is required: for everyone, nobody, or the listed teams. @defaultValue false */
  requireCodeScan: z.union([z.boolean(), z.array(z.string().min(1))]).default(false),
  /** Findings accepted organisation-wide (or per team/image) until they expire. @defaultValue [] */
  allowlist: z.array(allowlistEntrySchema).default([]),
  /** `reject`: a failing request fails at once; `flag`: it goes to the approval queue flagged. @defaultValue 'flag' */
  onFail: z.enum(['reject', 'flag']).default('flag'),
});
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
/** The section as written in YAML, before defaults are applied. */
export type PolicyConfigInput = z.input<typeof policyConfigSchema>;

/** Body of `POST /v1/requests/{id}/waivers`; the granting approver (`by`) comes from the caller's identity. */
export const waiverRequestSchema = z.strictObject({
  findingId: z.string().min(1).max(200),
  reason: z.string().min(1).max(2000),
  expires: expirySchema,
});
export type WaiverRequest = z.infer<typeof waiverRequestSchema>;
