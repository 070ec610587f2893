/**
 * The persisted shapes of the intake domain (requests, approvals) and the store interfaces
 * the intake services use. The Redis implementation lives beside this file; services
 * receive a store from main.ts and never see Redis.
 */
import type { Finding, ScanReport, SeveritySummary } from '../scanners/types';

export const REQUEST_STATUSES = [
  'requested', 'resolving', 'staging', 'scanning', 'awaiting_approval', 'promoting', 'approved',
  'rejected', 'failed', 'revoked',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** States after which the pipeline does nothing more with a request. */
export const TERMINAL_STATUSES: readonly RequestStatus[] = ['approved', 'rejected', 'failed', 'revoked'];

export function isTerminal(status: RequestStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * Where the image came from; `digest` is set once resolving pinned it, and stays the
 * upstream's digest (what was asked for) for the rest of the request's life.
 */
export interface SourceRef {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export interface Decision {
  by: string;
  decision: 'approve' | 'reject';
  comment: string;
  at: string;
}

export interface HistoryEntry {
  status: RequestStatus;
  at: string;
  by: string;
  /** Why, when it is not obvious from the status (a dedup, a failure code). */
  note?: string;
}

export interface PolicyOutcome {
  verdict: 'pass' | 'warn' | 'fail';
  reasons: string[];
  /**
   * Ids of the findings that fail the verdict and are neither allowlisted nor waived: what a
   * waiver must name. Absent on requests evaluated before waivers existed.
   */
  blocking?: string[];
}

/** An approver's acceptance of one finding on one request, until it expires. */
export interface WaiverRecord {
  /** The finding id or alias it covers. */
  findingId: string;
  reason: string;
  /** ISO 8601; an expired waiver no longer counts. */
  expires: string;
  /** The approver or admin who granted it (never the requester). */
  by: string;
  /** When it was granted, ISO 8601. */
  at: string;
}

/** One run of a SARIF upload as stored in `request.codeScans` and shown by the API. */
export interface CodeScanRecord {
  /** Names the entry (and, when `grouped`, its full findings in the code-scan store). */
  id: string;
  /** `runs[].tool.driver.name`. */
  tool: string;
  toolVersion?: string;
  uploadedBy: string;
  /** ISO 8601. */
  uploadedAt: string;
  /** Counts over every finding of the run, grouped or not. */
  summary: SeveritySummary;
  /** Every finding, or one per (rule id, severity) when `grouped`. */
  findings: Finding[];
  /** Number of findings in the run as uploaded. */
  findingsTotal: number;
  grouped: boolean;
  /**
   * The SARIF log this run came from: its sha256 (the original is in the code-scan store under
   * it), its size, and the run's index in it. Absent on entries stored before it existed.
   */
  upload?: { sha256: string; bytes: number; run: number };
}

/** One image request, as stored and as served by `GET /v1/requests/{id}`. */
export interface IntakeRequest {
  id: string;
  /** The reference as the requester wrote it. */
  image: string;
  team: string;
  requestedBy: string;
  justification: string;
  status: RequestStatus;
  createdAt: string;
  updatedAt: string;
  source: SourceRef;
  platforms: string[];
  /**
   * The digest the internal registry serves for this request, set by staging: the identity
   * that is scanned, approved, promoted and pulled. Equal to `source.digest` for a
   * byte-for-byte mover; different when one platform was selected out of an index, or when a
   * mover that does not preserve digests (the Docker Engine mover recompresses layers)
   * staged it. Absent before staging. See {@link requestDigest}.
   */
  stagedDigest?: string;
  scans: ScanReport[];
  /** Code-scan (SARIF) runs uploaded by developers, one entry per run (see intake/code-scans.ts). */
  codeScans: CodeScanRecord[];
  policy: PolicyOutcome | null;
  /** Waivers granted on this request, one per finding id (a later grant replaces an earlier one). */
  waivers: WaiverRecord[];
  decisions: Decision[];
  /** `host/approved/…@sha256:…` once approved. */
  internalRef: string | null;
  error: { code: string; message: string } | null;
  history: HistoryEntry[];
  /** Optimistic-concurrency counter; every save increments it. */
  version: number;
}

/** The request's identity: the staged digest once staged, the pinned upstream digest before. */
export function requestDigest(r: Pick<IntakeRequest, 'source' | 'stagedDigest'>): string | undefined {
  return r.stagedDigest ?? r.source.digest;
}

/** An entry of the approved-digest ledger, keyed by team and digest. */
export interface Approval {
  team: string;
  digest: string;
  /** Normalized source name, `registry/repository`. */
  image: string;
  /** Source tags that were approved with this digest. */
  tags: string[];
  internalRef: string;
  /** Repository in the internal registry that holds the approved image. */
  internalRepository: string;
  /** The tag written in `internalRepository`. */
  internalTag: string;
  approvedAt: string;
  approvedBy: string[];
  requestId: string;
  /**
   * The upstream digest the approved request resolved to, when it differs from `digest` because
   * a mover re-encoded the whole image (the engine mover recompresses layers). The ledger maps
   * it to `digest` per team ({@link ApprovalStore.digestForSource}), so that asking again for
   * the same upstream image, or CI looking it up by its upstream digest, finds this approval.
   * Absent when the digests are equal, and for a platform selected out of an index (the
   * upstream digest names the whole index, not the one image approved).
   */
  sourceDigest?: string;
  /**
   * Written before promotion tags the image, so that the ledger knows every approved tag
   * even when the promotion then fails: a pending approval is served by no lookup and no
   * dedup, and is removed when the promotion fails or an admin revokes it. Absent once the
   * promotion completed.
   */
  pending?: boolean;
}

export interface ListQuery {
  /** Teams to include; `'*'` means every team. */
  teams: string[] | '*';
  status?: RequestStatus;
  limit: number;
  /** Opaque cursor from a previous page's `next`. */
  cursor?: string;
  /** `asc` = oldest first (the approval queue), `desc` = newest first. @defaultValue 'desc' */
  order?: 'asc' | 'desc';
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Requests with indexes per team and status, and the in-flight dedup keys. */
export interface RequestStore {
  /** Stores a new request (version 1). */
  create(request: IntakeRequest): Promise<void>;
  get(id: string): Promise<IntakeRequest | null>;
  /**
   * Reads, applies `change`, and saves only if nobody saved in between (retrying on a
   * conflict). `change` returns null to leave the request as it is.
   * @throws AppError NOT_FOUND when the request does not exist.
   */
  update(id: string, change: (current: IntakeRequest) => IntakeRequest | null): Promise<IntakeRequest>;
  list(query: ListQuery): Promise<Page<IntakeRequest>>;
  /** How many of `team`'s requests are in `status` now. */
  count(team: string, status: RequestStatus): Promise<number>;
  /**
   * Claims `key` (a team + reference or team + digest) for `requestId` unless another request
   * holds it; returns the holder's id, or null when this request got it.
   */
  claim(key: string, requestId: string): Promise<string | null>;
  /** Releases `key` if `requestId` holds it. */
  release(key: string, requestId: string): Promise<void>;
}

/**
 * Scan reports per digest and scanner, so that a digest requested again (by any team) is not
 * scanned again while the scanner's vulnerability data is unchanged.
 */
export interface ScanResultStore {
  /** The last report of `scanner` on `digest`, or null. */
  get(scanner: string, digest: string): Promise<ScanReport | null>;
  put(digest: string, report: ScanReport): Promise<void>;
}

/** The approved-digest ledger. */
export interface ApprovalStore {
  /**
   * Saves the record, and maps its `sourceDigest` (if any) to its digest; never touches the tag
   * index (see {@link ApprovalStore.addTag}).
   */
  put(approval: Approval): Promise<void>;
  /**
   * Points `image:tag` in `team` at `digest` and records the tag on that approval. Only a
   * new approval of a tag calls this, so a tag moves forward and never back to an older digest.
   */
  addTag(team: string, image: string, tag: string, digest: string): Promise<void>;
  get(team: string, digest: string): Promise<Approval | null>;
  /** The digest last approved for `image:tag` in `team`, if any. */
  digestForTag(team: string, image: string, tag: string): Promise<string | null>;
  /** The digest approved in `team` for the upstream digest `sourceDigest` (see {@link Approval.sourceDigest}), if any. */
  digestForSource(team: string, sourceDigest: string): Promise<string | null>;
  /** Teams holding an approval of `digest`. */
  teamsFor(digest: string): Promise<string[]>;
  /**
   * Removes the approval and those of its tag index and source digest entries that still
   * point at `digest` (another approval may own them now); returns what was removed.
   */
  remove(team: string, digest: string): Promise<Approval | null>;
}

/**
 * The original SARIF logs uploaded to a request, each kept once (by its sha256) beside the
 * request, never in the record or the audit trail (see intake/code-scans.ts).
 */
export interface CodeScanStore {
  /** Keeps `log` unless this request already holds that digest; true when it was written now. */
  putUpload(requestId: string, sha256: string, log: Buffer): Promise<boolean>;
  getUpload(requestId: string, sha256: string): Promise<Buffer | null>;
  deleteUpload(requestId: string, sha256: string): Promise<void>;
}
