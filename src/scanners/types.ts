/**
 * The one shape every scanner's output is normalized to, and the adapter contract the
 * intake pipeline calls. Adapters (builtin, Clair, Harbor) live in sibling folders; the
 * pipeline only ever sees a {@link ScannerAdapter} chosen from config in main.ts.
 */
import { z } from 'zod';
import type { RegistryClient } from '../registry/types';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severitySchema = z.enum(SEVERITIES);

/**
 * `coverage`: something the scanner could not check (an OS it cannot inventory, a severity it
 * cannot score). Such a finding is not a vulnerability but the absence of an answer, and
 * `policy.coverage` decides whether it blocks: an unscanned image must not pass as clean.
 */
export const FINDING_KINDS = ['vulnerability', 'misconfiguration', 'code', 'coverage'] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export const cvssSchema = z.object({
  /** `2.0`, `3.0`, `3.1` or `4.0`. */
  version: z.string(),
  vector: z.string(),
  /** Base score 0.0–10.0; null when the scanner reported a vector it could not score. */
  score: z.number().min(0).max(10).nullable(),
});
export type Cvss = z.infer<typeof cvssSchema>;

/** Zod schema of a {@link Finding}: findings are stored and re-read, so they are validated too. */
export const findingSchema = z.object({
  id: z.string().min(1),
  aliases: z.array(z.string()),
  kind: z.enum(FINDING_KINDS),
  package: z.string().optional(),
  ecosystem: z.string().optional(),
  installedVersion: z.string().optional(),
  fixedVersion: z.string().optional(),
  severity: severitySchema,
  cvss: cvssSchema.optional(),
  title: z.string(),
  links: z.array(z.string()),
  /** Digest of the layer the package or file came from. */
  layer: z.string().optional(),
  /** Path inside the image (package database or offending file). */
  path: z.string().optional(),
  /**
   * For a multi-platform image (index): the platform image(s) the finding was seen in,
   * `os/arch[/variant]`, comma-separated when several children share it. Unset for a
   * single-platform image and for adapters that do not record it.
   */
  platform: z.string().optional(),
});

/**
 * One normalized finding. `id` is the advisory or check id (`CVE-…`, `GHSA-…`,
 * `DEBIAN-CVE-…`, `PCS-ROOT-USER`, a SARIF rule id); together with `package` it names what a
 * waiver covers.
 */
export type Finding = z.infer<typeof findingSchema>;

/**
 * Links kept per finding: a finding names where to read about the advisory, and a few
 * suffice. Capped so that a scanner's answer cannot make every finding carry a huge list.
 */
export const MAX_FINDING_LINKS = 5;

export type SeveritySummary = Record<Severity, number>;

/** The outcome of one adapter's scan of one digest. */
export interface ScanReport {
  /** The adapter's configured `name`. */
  scanner: string;
  status: 'succeeded' | 'failed';
  summary: SeveritySummary;
  findings: Finding[];
  /** ISO 8601 timestamps. */
  startedAt: string;
  finishedAt: string;
  /** Set when `status` is `failed`; `code` is an AppError code such as `SCAN_LIMIT_EXCEEDED`. */
  error?: { code: string; message: string };
  /** The vulnerability data version the scan ran against; see {@link ScannerAdapter.dbVersion}. */
  dbVersion?: string;
}

/** What to scan: one image by digest in one repository of a registry. */
export interface ScanTarget {
  /** A client of the registry holding the image (the internal registry, quarantine repository). */
  registry: RegistryClient;
  repository: string;
  /** `sha256:…` digest of the manifest or index. */
  digest: string;
  /** Base URL of that registry as the scanner must reach it (external scanners fetch from it). */
  registryUrl: string;
}

export type ScannerType = 'builtin' | 'clair' | 'harbor';

/** A scanner behind one narrow interface. */
export interface ScannerAdapter {
  /** Configured name, unique among the adapters; shown in reports. */
  readonly name: string;
  readonly type: ScannerType;
  /** Start-up check (database loads, remote scanner answers); throws an AppError otherwise. */
  check(): Promise<void>;
  /**
   * Scans one digest. A scan that ran but hit a bound or a bad image resolves with
   * `status: 'failed'`; a scanner that cannot be reached throws `SCANNER_UNAVAILABLE`.
   */
  scan(target: ScanTarget): Promise<ScanReport>;
  /**
   * An opaque version of the vulnerability data. Results stored for a digest are reused
   * until this value changes.
   */
  dbVersion(): Promise<string>;
}

/** Counts findings per severity. */
export function summarize(findings: readonly Finding[]): SeveritySummary {
  const summary: SeveritySummary = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const f of findings) summary[f.severity] += 1;
  return summary;
}
