/**
 * The `policy` section of the configuration, with its defaults, as a zod schema the config
 * loader plugs in (`policy: policyConfigSchema.prefault({})`). Unknown keys are refused so a
 * typo stops the process instead of silently weakening the gate.
 */
import { z } from 'zod';
import { AppError } from '../lib/errors';
import { SEVERITIES } from '../scanners/types';

// ISO 8601 as RFC 3339 profiles it: a calendar date, optionally a time with a zone (Z or ±hh:mm).
// A time without a zone is local to whoever wrote it, so it is refused rather than guessed.
const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-](\d{2}):(\d{2})))?$/;

/**
 * Parses an ISO 8601 date (`2027-02-28`) or date-time with a zone (`2027-02-28T18:00:00+01:00`)
 * that exists: no month 13, no `2027-02-30` rolled over into March, no year beyond 9999, none of
 * the free forms `Date.parse` also takes (`Dec 31 2099`). A date alone means its first instant
 * (00:00 UTC) or, with `endOfDay`, its last (23:59:59.999 UTC). Undefined when it is not one.
 */
export function parseIsoInstant(value: string, options: { endOfDay?: boolean } = {}): Date | undefined {
  const m = ISO_RE.exec(value.trim() === value ? value : '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, , zone, oh, om] = m;
  const year = Number(y); const month = Number(mo); const day = Number(d);
  const calendar = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 02-30 over into March; a date that exists reads back unchanged.
  if (calendar.getUTCFullYear() !== year || calendar.getUTCMonth() !== month - 1 || calendar.getUTCDate() !== day) return undefined;
  if (h === undefined) return new Date(calendar.getTime() + (options.endOfDay ? 24 * 3600 * 1000 - 1 : 0));
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec ?? 0) > 59) return undefined;
  if (zone !== 'Z' && (Number(oh) > 14 || Number(om) > 59)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

const ISO_HINT = 'expected an ISO 8601 date (YYYY-MM-DD) or date-time with a zone (YYYY-MM-DDThh:mm:ssZ) that exists';

/** An ISO 8601 date or date-time; a date without a time expires at 00:00 UTC that day. */
export const expirySchema = z
  .union([z.string(), z.date()])
  .transform((v) => (v instanceof Date ? v.toISOString() : v))
  .refine((v) => parseIsoInstant(v) !== undefined, { message: ISO_HINT });

export const allowlistEntrySchema = z.strictObject({
  /** Finding id or alias (`CVE-2023-5363`, `GHSA-…`, `CIS-4.1-ROOT-USER`). */
  id: z.string().min(1).describe('the finding id (CVE, GHSA, check id), why, and until when (ISO 8601); an expired entry is ignored'),
  /** Why it is accepted; shown to approvers and auditors. */
  reason: z.string().min(1).describe('the finding id (CVE, GHSA, check id), why, and until when (ISO 8601); an expired entry is ignored'),
  expires: expirySchema.describe('the finding id (CVE, GHSA, check id), why, and until when (ISO 8601); an expired entry is ignored'),
  /** Only for these teams. @defaultValue every team */
  teams: z.array(z.string().min(1)).min(1).optional().describe('limit the entry to these teams or image repositories'),
  /**
   * Only for these images: a repository (`docker.io/library/nginx`), a prefix glob
   * (`docker.io/library/*`) or a digest (`sha256:…`). @defaultValue every image
   */
  images: z.array(z.string().min(1)).min(1).optional().describe('limit the entry to these teams or image repositories'),
});
export type AllowlistEntry = z.infer<typeof allowlistEntrySchema>;

export const policyConfigSchema = z.strictObject({
  /** Severities that fail an image. @defaultValue ['critical'] */
  failOn: z.array(z.enum(SEVERITIES)).default(['critical']).describe('severities that fail an image'),
  /** Count only vulnerabilities that have a fixed version. @defaultValue true */
  onlyFixable: z.boolean().default(true).describe('count only vulnerabilities that have a fixed version'),
  /** `block`: every misconfiguration finding blocks; `warn`: they are listed as warnings. @defaultValue 'warn' */
  misconfigurations: z.enum(['block', 'warn']).default('warn').describe('hardening findings: `block` (fail) or `warn` (shown to approvers)'),
  /**
   * `block`: a coverage finding (an OS the scanner could not inventory, a severity it could
   * not score) fails the image; `warn`: it is listed as a warning. @defaultValue 'block'
   */
  coverage: z.enum(['block', 'warn']).default('block').describe('coverage findings (`PORTCULLIS-UNSCANNED-OS`, `PORTCULLIS-UNSCORED-SEVERITY`: what the scanner could not check): `block` (fail closed) or `warn`'),
  /**
   * What an advisory nobody could score counts as (the Go vulnerability database scores none:
   * impact depends on whether the vulnerable symbol is called). `coverage`: its
   * `PORTCULLIS-UNSCORED-SEVERITY:<advisory>` finding is decided by `coverage` (fail closed by
   * default, fixed or not); a severity: the finding counts as a vulnerability of that severity,
   * judged by `failOn` and `onlyFixable`. @defaultValue 'coverage'
   */
  unscoredSeverity: z.enum(['coverage', 'critical', 'high', 'medium', 'low']).default('coverage').describe('an advisory without a scorable severity (the Go database scores none): `coverage` (its `PORTCULLIS-UNSCORED-SEVERITY` finding is decided by `coverage`, fail closed) or the severity it counts as (`critical`, `high`, `medium`, `low`), judged by `failOn` and `onlyFixable`'),
  /** Whether SARIF evidence is required: for everyone, nobody, or the listed teams. @defaultValue false */
  requireCodeScan: z.union([z.boolean(), z.array(z.string().min(1))]).default(false).describe('SARIF code-scan evidence required: `true`, `false` or a list of teams'),
  /** Findings accepted organisation-wide (or per team/image) until they expire. @defaultValue [] */
  allowlist: z.array(allowlistEntrySchema).default([]).describe('findings accepted site-wide until they expire'),
  waivers: z.strictObject({
    /** How far ahead a waiver may expire, in days from when it is granted. @defaultValue 365 */
    maxDays: z.number().int().min(1).max(3650).default(365).describe('a waiver may expire at most this many days after it is granted'),
  }).prefault({}),
  /** `reject`: a failing request fails at once; `flag`: it goes to the approval queue flagged. @defaultValue 'flag' */
  onFail: z.enum(['reject', 'flag']).default('flag').describe('a failing verdict: `reject` (the request fails with the reasons) or `flag` (queued, approvable only once waivers cover every blocking finding)'),
});
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
/** The section as written in YAML, before defaults are applied. */
export type PolicyConfigInput = z.input<typeof policyConfigSchema>;

/**
 * Body of `POST /v1/requests/{id}/waivers`; the granting approver (`by`) comes from the caller's
 * identity. `expires` comes out as an ISO 8601 instant in UTC; a date alone lasts to the end of
 * that day, UTC (a waiver "until 2026-12-31" still covers the 31st).
 */
export const waiverRequestSchema = z.strictObject({
  findingId: z.string().min(1).max(200),
  reason: z.string().min(1).max(2000).describe('the finding id (CVE, GHSA, check id), why, and until when (ISO 8601); an expired entry is ignored'),
  expires: z.string().max(64).transform((v, ctx) => {
    const at = parseIsoInstant(v, { endOfDay: true });
    if (at) return at.toISOString();
    ctx.addIssue({ code: 'custom', message: `${ISO_HINT}; got "${v}"` });
    return z.NEVER;
  }),
});

/**
 * A waiver's expiry must lie ahead of `now`, and at most `maxDays` (policy.waivers.maxDays)
 * ahead, so that an acceptance is looked at again. Throws INVALID_REQUEST naming `expires`.
 */
export function checkWaiverExpiry(expires: string, now: Date, maxDays: number): void {
  const at = Date.parse(expires);
  const fail = (why: string) => new AppError('INVALID_REQUEST', `body.expires: ${why}`, { details: { field: 'expires' } });
  if (!(at > now.getTime())) throw fail('a waiver must expire in the future');
  const limit = now.getTime() + maxDays * 24 * 3600 * 1000;
  if (at > limit) throw fail(`a waiver may last at most ${maxDays} days (policy.waivers.maxDays): until ${new Date(limit).toISOString()} at the latest`);
}
export type WaiverRequest = z.infer<typeof waiverRequestSchema>;
