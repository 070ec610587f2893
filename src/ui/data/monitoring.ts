/**
 * What the console shows from post-approval monitoring (issue 13): approval health, daily
 * snapshots, scanner data freshness, drift, SBOMs. Each is a narrow interface; main.ts passes
 * the implementation of whichever workstream provides it, and until then the "not configured"
 * one below, which the pages show as such ("monitoring not configured", grey "unknown"), never
 * as healthy or green.
 */
import type { Principal } from '../../lib/identity/types';
import type { Severity, SeveritySummary } from '../../scanners/types';
import type { RequestStatus } from '../../store/types';

export type ApprovalHealth = 'ok' | 'at_risk' | 'revoked';

/** An approval whose re-evaluation found it at risk. */
export interface AtRiskApproval {
  team: string;
  image: string;
  digest: string;
  requestId?: string;
  /** ISO time it became at risk, and when it is revoked (or re-reviewed) unless resolved. */
  since: string;
  deadline?: string;
  /** Why: new blocking findings (a diff against approval time), or an expired waiver. */
  reason: string;
  newFindings: Array<{ id: string; severity: Severity; package?: string }>;
}

export interface HealthSource {
  readonly configured: boolean;
  /** At-risk approvals of these teams (`'*'`: all). */
  atRisk(teams: readonly string[] | '*'): Promise<AtRiskApproval[]>;
  /** The health of one approval; null when unknown (never evaluated). */
  healthOf(team: string, image: string, digest: string): Promise<ApprovalHealth | null>;
}

/** One team's day (health workstream's daily snapshot). */
export interface DailySnapshot {
  team: string;
  /** YYYY-MM-DD (UTC). */
  day: string;
  byState: Partial<Record<RequestStatus, number>>;
  /** Over approved images: unique CVEs and instances per severity. */
  uniqueCves: SeveritySummary;
  instances: SeveritySummary;
  atRisk: number;
  meanTimeToDecisionSeconds: number | null;
}

export interface SnapshotSource {
  readonly configured: boolean;
  /** Snapshots of these teams from `fromDay` to `toDay` inclusive (YYYY-MM-DD), oldest first. */
  list(teams: readonly string[] | '*', fromDay: string, toDay: string): Promise<DailySnapshot[]>;
}

/** How current one scanner's vulnerability data is. */
export interface ScannerFreshness {
  scanner: string;
  dataVersion?: string;
  /** ISO time the data was last updated. */
  updatedAt?: string;
  /** true: older than allowed; false: fresh; null: unknown (shown grey, never green). */
  stale: boolean | null;
}

export interface FreshnessSource {
  readonly configured: boolean;
  list(): Promise<ScannerFreshness[]>;
}

/** An approved tag that moved upstream. */
export interface DriftEvent {
  team: string;
  image: string;
  tag: string;
  oldDigest: string;
  newDigest: string;
  at: string;
  /** The request filed for the new digest (monitor.autoRequest). */
  requestId?: string;
}

export interface DriftSource {
  readonly configured: boolean;
  recent(teams: readonly string[] | '*', limit: number): Promise<DriftEvent[]>;
}

/** The SBOM of a digest (the inventory workstream's `/v1/images/{digest}/sbom`), read with the caller's rights. */
export interface SbomSource {
  /** The CycloneDX JSON, or null when there is none or the caller may not read it. */
  get(p: Principal, digest: string): Promise<Buffer | null>;
}

export interface Monitoring {
  health: HealthSource;
  snapshots: SnapshotSource;
  freshness: FreshnessSource;
  drift: DriftSource;
  sbom?: SbomSource;
}

/** Monitoring as main has it before the health and inventory workstreams land: nothing known. */
export function monitoringNotConfigured(scanners: readonly string[]): Monitoring {
  return {
    health: { configured: false, atRisk: async () => [], healthOf: async () => null },
    snapshots: { configured: false, list: async () => [] },
    freshness: { configured: false, list: async () => scanners.map((scanner) => ({ scanner, stale: null })) },
    drift: { configured: false, recent: async () => [] },
  };
}
