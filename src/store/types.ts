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
  /** The decider's display name. */
  by: string;
  decision: 'approve' | 'reject';
  comment: string;
  at: string;
  /** The decider's stable subject and linked subjects (four-eyes); absent on decisions recorded before them. */
  subject?: string;
  sameAs?: string[];
  /** The approver's approving identity-provider groups (`policy.approvals.distinctGroups`). */
  groups?: string[];
}

/** Who a person is across identities: a stable subject and the subjects linked to it (src/intake/four-eyes.ts). */
export interface PersonRef {
  subject: string;
  sameAs?: string[];
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
  /** The requester's display name. */
  requestedBy: string;
  /** The requester's stable subject (four-eyes compares it); absent on requests made before it was stored. */
  requester?: PersonRef;
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
  /** When retention deleted the request's quarantine manifest (rejected and failed requests). */
  quarantinePurgedAt?: string;
  /** Set when an admin revoked the digest the request resolved to: who, when and why. */
  revocation?: { by: string; at: string; reason: string };
  history: HistoryEntry[];
  /**
   * Set on a request the drift monitor filed because an approved tag moved upstream
   * (`monitor.autoRequest`, src/monitor/drift.ts): the approval it would replace and, once its
   * scan is done, the findings fixed and added compared with the approved request's.
   */
  replaces?: ReplacedApproval;
  /** Optimistic-concurrency counter; every save increments it. */
  version: number;
}

/** The approval a drift request would replace (see {@link IntakeRequest.replaces}). */
export interface ReplacedApproval {
  team: string;
  image: string;
  digest: string;
  /** The approved request. */
  requestId: string;
  tag: string;
  /** The upstream digest the tag pointed at when approved, and the one it points at now. */
  fromDigest: string;
  toDigest: string;
  /** Findings fixed (in the approved image, not in the new one) and added, once the new one is scanned. */
  changes?: {
    fixed: Array<{ id: string; severity: string; package?: string }>;
    added: Array<{ id: string; severity: string; package?: string }>;
    fixedTotal: number;
    addedTotal: number;
    at: string;
  };
}

/**
 * A scan report as the request record keeps it: everything but the findings, their count, and
 * the content address of the full report, stored once per distinct report beside the requests
 * (never expiring while a request refers to it). Records saved before reports moved out hold
 * full reports inline and no `reportId`.
 */
export interface ScanSummary extends Omit<ScanReport, 'findings'> {
  findingsCount: number;
  reportId?: string;
}

/** A code-scan run without its findings, as list endpoints show it. */
export type CodeScanSummary = Omit<CodeScanRecord, 'findings'>;

/**
 * A request as list endpoints return it (the store's `list`): scan summaries and counts, no
 * findings. A different type from {@link IntakeRequest} on purpose: a verdict must never be
 * computed from it.
 */
export type RequestSummary = Omit<IntakeRequest, 'scans' | 'codeScans'> & { scans: ScanSummary[]; codeScans: CodeScanSummary[] };

/** The summary of a scan report (for a report inline in an older record, or one about to be stored). */
export function scanSummary(report: ScanReport | ScanSummary, reportId?: string): ScanSummary {
  if ('findingsCount' in report) return report;
  const { findings, ...rest } = report;
  return { ...rest, findingsCount: findings.length, ...(reportId ? { reportId } : {}) };
}

/** The list form of a request (full, or as stored: summaries, or full reports in older records). */
export function requestSummary(r: Omit<IntakeRequest, 'scans'> & { scans: ReadonlyArray<ScanReport | ScanSummary> }): RequestSummary {
  return {
    ...r,
    scans: (r.scans as Array<ScanReport | ScanSummary>).map((s) => scanSummary(s)),
    codeScans: (r.codeScans as Array<CodeScanRecord | CodeScanSummary>).map((c) => {
      const { findings: _findings, ...rest } = c as CodeScanRecord;
      return rest;
    }),
  };
}

/** The request's identity: the staged digest once staged, the pinned upstream digest before. */
export function requestDigest(r: Pick<IntakeRequest, 'source' | 'stagedDigest'>): string | undefined {
  return r.stagedDigest ?? r.source.digest;
}

/**
 * A platform set as one string: the sorted, de-duplicated platforms, or `*` for the whole image
 * (no platform selected). Part of an approval's identity and of every dedup key.
 */
export function platformKey(platforms: readonly string[] | undefined): string {
  const set = [...new Set(platforms ?? [])].sort();
  return set.length ? set.join(',') : '*';
}

/** Which approvals a lookup may see: a team, an image (`registry/repository`), a platform set. */
export interface ApprovalScope {
  team: string;
  image: string;
  /** Selected platforms; empty = the whole image. */
  platforms: readonly string[];
}

/**
 * An entry of the approved-digest ledger. Its identity is (team, image, digest): the same
 * digest approved under two names is two approvals, each with its own tags. `platforms` says
 * which platform set it was approved for; a lookup answers it only for the same set.
 */
export interface Approval {
  team: string;
  digest: string;
  /** Normalized source name, `registry/repository`. */
  image: string;
  /** Source tags that were approved with this digest. */
  tags: string[];
  /** The platforms selected (sorted); empty = the whole image. Absent on records saved before platform sets (= whole image). */
  platforms?: string[];
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
   * upstream digest names the whole index, not the one image approved: the source index is kept
   * per platform set, so only a lookup naming the same set follows it).
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

/**
 * An audit record committed in the same atomic step as the state change it describes: the
 * store appends it to the audit outbox (`{prefix}:audit:outbox`, field `record`), and the
 * audit log chains it from there, so a change and its record exist together or not at all.
 */
export interface OutboxRecord {
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  /** ISO 8601 time of the change. */
  at: string;
}

export interface SaveOptions {
  /**
   * The audit records of this change, built from the record about to be saved (`next`) and
   * the one it replaces; written to the outbox in the same script as the save.
   */
  records?: (next: IntakeRequest, current: IntakeRequest) => OutboxRecord[];
}

export interface TransitionSaveOptions extends SaveOptions {
  /**
   * The request as its caller read it just before: a transition's first attempt starts from it
   * instead of reading it again, when its status is one of `from`. The save's compare-and-set
   * on its version makes a record that is no longer current cost one more read, never a lost
   * or misjudged change.
   */
  known?: IntakeRequest;
}

export interface TransitionResult {
  /** Whether this call moved the request (the answer of the one atomic save, never a guess). */
  moved: boolean;
  /** The request as saved when moved, else as it stands now. */
  request: IntakeRequest;
  /** The state it was moved from (set only when moved). */
  from?: RequestStatus;
}

/** Requests with indexes per team and status, and the in-flight dedup keys. */
export interface RequestStore {
  /** Stores a new request (version 1). */
  create(request: IntakeRequest, options?: SaveOptions): Promise<void>;
  get(id: string): Promise<IntakeRequest | null>;
  /**
   * Moves the request from one of `from` to `to`: reads it, builds the next record with
   * `build` (pure: it may run again after a concurrent save), and saves it in one script that
   * checks both the version and that the stored status is in `from`, together with the
   * records of `options`. Returns `moved: false` (and the request as it is) when it is not in
   * `from`. `to` may depend on the current record (an approval moves on only when enough
   * approvers have approved); `build` may throw to refuse.
   * @throws AppError NOT_FOUND when the request does not exist.
   */
  transition(id: string, from: readonly RequestStatus[], to: RequestStatus | ((current: IntakeRequest) => RequestStatus),
    build: (current: IntakeRequest) => IntakeRequest, options?: TransitionSaveOptions): Promise<TransitionResult>;
  /**
   * Reads, applies `change`, and saves only if nobody saved in between (retrying on a
   * conflict). `change` returns null to leave the request as it is.
   * @throws AppError NOT_FOUND when the request does not exist.
   */
  update(id: string, change: (current: IntakeRequest) => IntakeRequest | null, options?: SaveOptions): Promise<IntakeRequest>;
  /** A page of requests in their list form (no findings; see {@link RequestSummary}). */
  list(query: ListQuery): Promise<Page<RequestSummary>>;
  /** How many of `team`'s requests are in `status` now. */
  count(team: string, status: RequestStatus): Promise<number>;
  /**
   * Claims `key` (a team + reference or team + digest) for `requestId` unless another request
   * holds it; returns the holder's id, or null when this request got it.
   */
  claim(key: string, requestId: string): Promise<string | null>;
  /** Releases `key` if `requestId` holds it. */
  release(key: string, requestId: string): Promise<void>;
  /** Ids of `team`'s (or with `'*'` every team's) requests that resolved, or were staged, to `digest` (indexed with each save). */
  idsByDigest(team: string | '*', digest: string): Promise<string[]>;
  /**
   * Deletes the request (record, indexes, its references to stored reports, and a report no
   * other request refers to) with the records of `options`, in one script, if it is still at
   * `expectedVersion`; returns whether it deleted it.
   */
  delete(request: IntakeRequest, options?: SaveOptions): Promise<boolean>;
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
/** Whether `a` is served to a lookup in `scope` (completed, same name, same platform set). */
export function servesScope(a: Approval | null, scope: ApprovalScope): a is Approval {
  return a !== null && !a.pending && a.team === scope.team && a.image === scope.image && platformKey(a.platforms) === platformKey(scope.platforms);
}

/** The record a promotion wrote (pending) or read (completed) and expects to find when it completes. */
export type ExpectedApproval = Pick<Approval, 'requestId' | 'approvedAt' | 'pending'>;

/** CI's lookup's answer: the approval, and the team's deny entry covering its digest when one does (then it serves nothing). */
export type LookedUpApproval = Approval & { revoked?: Revocation };

export interface ApprovalStore {
  /**
   * Saves the record, and maps its `sourceDigest` (if any) to its digest for its platform set;
   * never touches the tag index (see {@link ApprovalStore.addTag}). A completed (not pending)
   * approval joins the team's inventory.
   */
  put(approval: Approval): Promise<void>;
  /**
   * A promotion's completed approval: saves `approval` (not pending) as {@link put} does, only
   * if, in the same atomic step, the record of its (team, image, digest) is still `expected` (the
   * pending one the promotion wrote, or the completed one it read: a revocation or a withdrawn
   * promotion removes it), the team's deny-list has no entry for the digest (every name, or this
   * image), and request `approval.requestId` is still `promoting`. False, and nothing written,
   * otherwise: an admin's revocation that lands during the copy can never be overwritten by it.
   */
  complete(approval: Approval, expected: ExpectedApproval): Promise<boolean>;
  /**
   * Points `tag` of the scope's image and platform set at `digest` and records the tag on that
   * approval. Only a new approval of a tag calls this, so a tag moves forward, never back.
   */
  addTag(scope: ApprovalScope, tag: string, digest: string): Promise<void>;
  get(team: string, image: string, digest: string): Promise<Approval | null>;
  /** The digest last approved for `tag` in the scope (team, image, platform set), if any. */
  digestForTag(scope: ApprovalScope, tag: string): Promise<string | null>;
  /** The digest approved in the scope for the upstream digest `sourceDigest` (see {@link Approval.sourceDigest}), if any. */
  digestForSource(scope: ApprovalScope, sourceDigest: string): Promise<string | null>;
  /** Every approval of `digest` in `team`, whatever the image name. */
  ofDigest(team: string, digest: string): Promise<Approval[]>;
  /**
   * CI's lookup in one store call (one Redis round trip): the approval that serves `ref` (a tag,
   * or a digest approved or upstream) in the scope, completed, same name and platform set;
   * null when none does. The same answer as `digestForTag` then `findApproval` (intake/ledger.ts),
   * with `revoked` set when the team's deny-list covers the approval's digest (read in the same
   * step): the caller must then refuse it, as for a revoked image.
   */
  lookup(scope: ApprovalScope, ref: { tag: string } | { digest: string }): Promise<LookedUpApproval | null>;
  /**
   * Removes the approval and those of its tag index and source digest entries that still
   * point at `digest` (another approval may own them now); returns what was removed.
   */
  remove(team: string, image: string, digest: string): Promise<Approval | null>;
  /** The team's completed approvals, newest first, paginated by an opaque cursor. */
  list(team: string, page: { limit: number; cursor?: string }): Promise<Page<Approval>>;
}

/** Why a digest is on a team's deny-list. */
export interface Revocation {
  team: string;
  digest: string;
  /** The image name revoked, or absent when every name of the digest was. */
  image?: string;
  by: string;
  /** ISO 8601. */
  at: string;
  reason: string;
}

/**
 * An internal image an automatic revocation left in place (`keepImage`: workloads that restart
 * still pull it). Recorded per team and digest apart from the deny-list, so that lifting an
 * entry leaves it; an admin's revoke of the digest (or of its image name) deletes it and clears it.
 */
export interface KeptImage {
  image: string;
  repository: string;
  internalRef: string;
}

/** What a revoke reads first: the deny entries and kept images of a digest, and the state it compares on write. */
export interface RevocationRead {
  entries: Revocation[];
  kept: KeptImage[];
  /** Opaque: passed back as {@link RevokeChange.seen}. */
  seen: string;
}

export interface RevokeChange {
  /** The `seen` of a {@link RevocationStore.read}: the revoke writes nothing if the entries or kept images changed since. Absent: no comparison. */
  seen?: string;
  /** Images kept from now on (by repository; an image kept already is replaced). */
  keep?: KeptImage[];
  /** Repositories whose kept images this revoke deletes: no longer listed. */
  clear?: string[];
}

/**
 * The deny-list: digests an admin revoked, per team (and image name, when only one name was
 * revoked). A new request for a denied digest is refused until an admin lifts it. Each change
 * commits its audit records to the outbox in the same script.
 */
/**
 * What a revocation still has to do after its one script (the deny-list entry, the ledger
 * removal and the audit record): the requests' states and the registry deletes. Recorded in
 * the same script, removed once done; a sweep completes those a crash left behind.
 */
export interface RevocationIntent {
  id: string;
  /** When it was recorded (ISO 8601): the sweep leaves fresh ones to the call that made them. */
  at: string;
  team: string;
  digest: string;
  by: string;
  reason: string;
  /** Requests to move to `revoked`. */
  requestIds: string[];
  /** Registry deletes to queue (see intake/ports UnpublishTask). */
  unpublish: Array<{ team: string; image: string; repository: string; digest: string }>;
  /** The internal images stay (an automatic revocation, `keepImage`): said in the requests' history. */
  imageKept?: boolean;
  /** The domain event to announce once done (its audit record went in with the script). */
  event: { type: string; actor: string; target: string; details: Record<string, unknown> };
}

export interface RevocationStore {
  add(entry: Revocation, records: OutboxRecord[]): Promise<void>;
  /**
   * One script: the deny-list entry, the removal of `approvals` from the ledger (as
   * {@link ApprovalStore.remove}), `records` into the audit outbox, `intent` recorded and the
   * kept images changed as `change` says, so that a crash can leave neither a deny-listed digest
   * that the ledger still serves nor a revocation without its record. False, and nothing
   * written, when `change.seen` is given and the digest's entries or kept images changed since.
   */
  revoke(entry: Revocation, approvals: Approval[], records: OutboxRecord[], intent: RevocationIntent, change?: RevokeChange): Promise<boolean>;
  /** The digest's deny entries and kept images in one read, with the state a revoke compares. */
  read(team: string, digest: string): Promise<RevocationRead>;
  /** Recorded intents, oldest first. */
  intents(): Promise<RevocationIntent[]>;
  /** Removes a completed intent. */
  completed(id: string): Promise<void>;
  /** The entry denying `digest` to `image` in `team` (one for that name, or for every name), or null. */
  find(team: string, image: string, digest: string): Promise<Revocation | null>;
  /** Lifts the entry for `image` (or the one for every name when absent), leaving the kept images; returns what was lifted, and commits `records` only then. */
  remove(team: string, digest: string, image: string | undefined, records: (lifted: Revocation) => OutboxRecord[]): Promise<Revocation | null>;
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
