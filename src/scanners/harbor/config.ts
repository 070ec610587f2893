/**
 * The config entry of a Harbor pluggable scanner (`scanners: [{type: harbor, …}]`): any
 * adapter implementing Harbor's Scanner Adapter API v1.2 (Trivy, Anchore, Aqua, Sysdig…).
 * The config loader puts this schema into its `scanners` discriminated union on `type`.
 */
import { z } from 'zod';

export const harborScannerConfigSchema = z.strictObject({
  /** Unique adapter name, shown in reports. */
  name: z.string().min(1).describe('unique name, shown in reports; stored results are keyed by it'),
  type: z.literal('harbor').describe('`builtin`, `clair` or `harbor`'),
  /** The adapter's base URL; the API is under `<url>/api/v1`. */
  url: z.string().url().refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL').describe('Clair in combo mode, or the Harbor adapter\'s base URL'),
  /**
   * `Authorization` header value sent to the adapter (`Bearer …` or `Basic …`), as
   * registered in Harbor. Secret: give it by env.
   */
  authorization: z.string().regex(/^(Basic|Bearer) \S+$/, 'must be "Basic <credentials>" or "Bearer <token>"').optional().describe('harbor: `Authorization` header value sent to the adapter (use the environment)'),
  /** Whole scan of one digest (request, then report polling). @defaultValue 900000 (15 min) */
  timeoutMs: z.number().int().positive().default(900_000).describe('clair, harbor: whole scan of one digest'),
  /** One HTTP request. @defaultValue 60000 */
  requestTimeoutMs: z.number().int().positive().default(60_000).describe('one HTTP request to the scanner'),
  /** Wait between report polls when a 302 carries no usable `Refresh-After`. @defaultValue 5000 */
  pollIntervalMs: z.number().int().positive().default(5_000).describe('wait between polls while the report is not ready'),
  /** Upper bound on a `Refresh-After` the adapter asks for. @defaultValue 60000 */
  maxRefreshAfterMs: z.number().int().positive().default(60_000).describe('harbor: upper bound on the adapter\'s `Refresh-After`'),
});

/** A validated Harbor scanner entry (defaults applied). */
export type HarborScannerConfig = z.infer<typeof harborScannerConfigSchema>;
/** A Harbor scanner entry as written in YAML (defaults optional). */
export type HarborScannerConfigInput = z.input<typeof harborScannerConfigSchema>;
