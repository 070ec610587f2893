/**
 * `codeScans.*`: the bounds on code-scan (SARIF) evidence. Every string and count that reaches
 * the request record, the audit entry or the code-scan store is bounded here; what is over a
 * bound is refused (413 `CODE_SCAN_TOO_LARGE`, naming the key), never truncated. The defaults
 * take every real log in the test corpus (`realworld/sarif/valid/`) with a wide margin:
 * the largest there has 7 results, 5 rules, a 185-character message and an 80-character rule id.
 */
import { z } from 'zod';

const count = (max: number, def: number) => z.number().int().min(1).max(max).default(def);

export const codeScansConfigSchema = z.strictObject({
  /** Distinct SARIF logs (by sha256) one request may hold. @defaultValue 20 */
  maxUploadsPerRequest: count(1000, 20).describe('distinct SARIF logs (by sha256) one request may hold; over any `codeScans.*` bound an upload is refused with 413 `CODE_SCAN_TOO_LARGE` naming the key'),
  /** Runs (tools) in one log. @defaultValue 20 */
  maxRunsPerUpload: count(1000, 20).describe('runs (tools) in one log'),
  /** Runs one request may hold over all its uploads. @defaultValue 50 */
  maxRunsPerRequest: count(10_000, 50).describe('runs one request may hold over all its uploads'),
  /** Results in one run. @defaultValue 50000 */
  maxResultsPerRun: count(10_000_000, 50_000).describe('results in one run'),
  /** Rules in one run: entries of `tool.driver.rules`, and distinct rule ids among its results. @defaultValue 5000 */
  maxRulesPerRun: count(1_000_000, 5_000).describe('rules in one run: `tool.driver.rules` entries, and distinct rule ids among its results'),
  /**
   * Bytes (as JSON) of the code-scan summaries kept on the request record: tools, counts and the
   * findings kept there (verbatim, or one per rule id and severity). @defaultValue 2097152 (2 MiB)
   */
  maxSummaryBytesPerRequest: count(1024 * 1024 * 1024, 2 * 1024 * 1024).describe('bytes (as JSON) of the code-scan summaries kept on the request record (2 MiB): tools, counts and the findings kept there (verbatim, or one per rule id and severity)'),
  /** Characters of a tool name or version, a rule id or rule name. @defaultValue 512 */
  maxNameLength: count(1_000_000, 512).describe('characters of a tool name or version, a rule id or rule name'),
  /** Characters of a result message or rule description. @defaultValue 16384 */
  maxMessageLength: count(100_000_000, 16_384).describe('characters of a result message or rule description'),
  /** Characters of a location URI or a rule's help URI. @defaultValue 2048 */
  maxUriLength: count(1_000_000, 2_048).describe('characters of a location URI or a rule\'s help URI'),
  /** Bytes of original SARIF logs kept beside one request (each log once). @defaultValue 67108864 (64 MiB) */
  maxStoredBytesPerRequest: count(Number.MAX_SAFE_INTEGER, 64 * 1024 * 1024).describe('bytes of original SARIF logs kept beside one request (64 MiB), each log once'),
});

export type CodeScanLimits = z.infer<typeof codeScansConfigSchema>;

/** The defaults, for callers (tests, the CLI) that have no configuration. */
export const DEFAULT_CODE_SCAN_LIMITS: CodeScanLimits = codeScansConfigSchema.parse({});
