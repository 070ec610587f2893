/**
 * The health of an approval after it was made (issue 13.3): `ok`, `at_risk` (a finding that
 * today's policy blocks appeared, or a waiver it relied on expired; with a deadline) or
 * `revoked`. One record per approval identity (team, image, digest), kept by the health store.
 */
import type { Severity } from '../scanners/types';

export const HEALTH_STATES = ['ok', 'at_risk', 'revoked'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** Why a finding blocks an approval that passed when it was made. */
export type BlockingCause =
  /** Not among the findings at approval time (new vulnerability data, a rescan). */
  | 'new'
  /** Known at approval time and waived; the waiver expired. */
  | 'waiver_expired'
  /** Known at approval time and not waived: today's policy (or an expired allowlist entry) blocks it. */
  | 'policy';

/** A finding as the health record names it (no free text beyond the title). */
export interface FindingRef {
  id: string;
  aliases: string[];
  severity: Severity;
  kind: string;
  package?: string;
  installedVersion?: string;
  fixedVersion?: string;
}

export interface BlockingFinding extends FindingRef {
  title: string;
  cause: BlockingCause;
  /** When the finding started to block (first seen, or the waiver's expiry), ISO 8601. */
  since: string;
  /** `since` + `monitor.grace[severity]`, ISO 8601. */
  deadline: string;
}

/** The max severity of an approval's current vulnerability findings, or `none`. */
export type MaxSeverity = Severity | 'none';

export interface HealthRecord {
  team: string;
  /** `registry/repository`. */
  image: string;
  digest: string;
  requestId: string;
  /** The approval's source tags and platform set, when evaluated (a revoked tag still answers REVOKED to CI). */
  tags?: string[];
  platforms?: string[];
  state: HealthState;
  /** When the approval entered `state`, ISO 8601. */
  since: string;
  /** The last re-evaluation, ISO 8601. */
  evaluatedAt: string;
  /** Over the current findings (approval-time findings until a re-scan or re-match stored newer ones). */
  maxSeverity: MaxSeverity;
  /** What blocks today (empty unless at risk). */
  blocking: BlockingFinding[];
  /** The diff of the current findings against those at approval time (capped, see MAX_DIFF). */
  diff: { added: FindingRef[]; removed: FindingRef[]; addedTotal: number; removedTotal: number };
  /** The earliest deadline of the blocking findings (at risk only). */
  deadline?: string;
  /**
   * Set when the deadline passed and `monitor.autoRevoke` is off: the approval waits in the
   * approvers' queue (`GET /v1/queue`, `reviews`) until it is revoked or no longer at risk.
   */
  review?: { since: string };
  /**
   * Blocking findings an approver kept at a re-review (`POST /v1/approvals/keep`), each until it
   * expires; they count as waivers of this approval, and block again (cause `waiver_expired`) after.
   */
  accepted?: Array<{ findingId: string; reason: string; expires: string; by: string; at: string }>;
  /** Set once revoked (by the health job or an admin). */
  revocation?: { at: string; by: string; reason: string };
  /** Optimistic-concurrency counter of the store. */
  version: number;
}

/** What the approved inventory and the queue show of a record. */
// A type alias, not an interface, so that it fits the inventory's structural health view.
export type HealthView = {
  state: HealthState;
  since: string;
  evaluatedAt: string;
  maxSeverity: MaxSeverity;
  deadline?: string;
  review?: { since: string };
  blocking: BlockingFinding[];
  diff: HealthRecord['diff'];
  accepted?: HealthRecord['accepted'];
};

export function healthView(r: HealthRecord): HealthView {
  return {
    state: r.state, since: r.since, evaluatedAt: r.evaluatedAt, maxSeverity: r.maxSeverity,
    ...(r.deadline ? { deadline: r.deadline } : {}), ...(r.review ? { review: r.review } : {}), blocking: r.blocking, diff: r.diff,
    ...(r.accepted?.length ? { accepted: r.accepted } : {}),
  };
}

/** An approval's identity as the health store keys it. */
export interface ApprovalKey {
  team: string;
  image: string;
  digest: string;
}

export const approvalKeyString = (k: ApprovalKey): string => `${k.team}|${k.image}|${k.digest}`;
