/**
 * Every Redis key the store writes, in one place, all under `redis.prefix` so that two
 * instances (or two tests) can share one Redis.
 */
export interface StoreKeys {
  request(id: string): string;
  /** Sorted sets (all scores 0, ordered by member) of `createdAt|id` members. */
  indexAll(): string;
  indexTeam(team: string): string;
  indexStatus(status: string): string;
  indexTeamStatus(team: string, status: string): string;
  claim(key: string): string;
  /** An approval: (team, image, digest). `image` is `registry/repository` (may hold a `:port`). */
  approval(team: string, image: string, digest: string): string;
  /** The digest approved for `image:tag` in `team` for one platform set (see {@link platformKey}). */
  approvedTag(team: string, image: string, platforms: string, tag: string): string;
  /**
   * The digest a revoked approval's tag named (CI's lookup by that tag then says REVOKED), kept
   * 90 days; written by the revocation's script as it drops the tag (the key lives beside the
   * health records, where it was first kept).
   */
  revokedTag(team: string, image: string, platforms: string, tag: string): string;
  /** Set of the images approved with `digest` in `team` (revocation by digest). */
  approvalImages(team: string, digest: string): string;
  /** The digest approved for `image` in `team` and a platform set, for an upstream digest that staging changed. */
  approvalSource(team: string, image: string, platforms: string, sourceDigest: string): string;
  /** Set of the source tags approved with (team, image, digest). */
  approvalTags(team: string, image: string, digest: string): string;
  /** A full scan report, content-addressed (sha256 of its JSON); no expiry. */
  report(id: string): string;
  /** Set of the ids of the requests referring to a report (retention deletes it with the last one). */
  reportRefs(id: string): string;
  /** The team's deny-list entry of a digest: a hash, field `*` (every name) or an image name → JSON. */
  revoked(team: string, digest: string): string;
  /** Images an automatic revocation of a digest kept in the internal registry: a hash, internal repository → JSON (not a deny entry). */
  keptImages(team: string, digest: string): string;
  /** Sorted set of a team's completed approvals (`image@digest`), scored by approval time: the inventory. */
  approvalsByTeam(team: string): string;
  /** The last report of `scanner` on `digest`, reused while its vulnerability data is unchanged. */
  scanResult(scanner: string, digest: string): string;
  /** The full findings of one code-scan run whose request record keeps them grouped. */
  codeScanFindings(requestId: string, scanId: string): string;
  /** The audit outbox stream (contract with the audit workstream: field `record`, JSON). */
  auditOutbox(): string;
  /** Set of the ids of `team`'s requests that resolved (or were staged) to `digest`, for revocation. */
  requestsByDigest(team: string, digest: string): string;
  /** The same across teams (a quarantine repository is shared by every team), for retention. */
  requestsByDigestAll(digest: string): string;
  /** Console search: hash of request id → the findings of that request matching `term` (a lowercased id, alias or package). */
  findingTerm(term: string): string;
  /** Console: a request's findings folded for the dashboards (team, image, vulnerability ids per severity). */
  findingDigest(requestId: string): string;
  /** Console: set of the request ids whose findings are indexed. */
  findingIndexed(): string;
  /** Console prefix search: sorted set (all scores 0, so in lexical order) of every indexed term. */
  findingTerms(): string;
  /** Console: set once every term indexed before `findingTerms` existed has been added to it. */
  findingTermsReady(): string;
}

/** How long a revoked tag keeps answering REVOKED (see {@link StoreKeys.revokedTag}). */
export const REVOKED_TAG_TTL_S = 90 * 86400;

/** The start every {@link StoreKeys.approvedTag} key shares (the webhook scans them all at load). */
export function approvedTagHead(prefix: string): string {
  return `${prefix}:approved-tag:`;
}

/** The start every {@link StoreKeys.revokedTag} key shares (the webhook scans them all at load). */
export function revokedTagHead(prefix: string): string {
  return `${prefix}:health:once:revoked-tag|`;
}

export function storeKeys(prefix: string): StoreKeys {
  return {
    request: (id) => `${prefix}:req:${id}`,
    indexAll: () => `${prefix}:idx:all`,
    indexTeam: (team) => `${prefix}:idx:team:${team}`,
    indexStatus: (status) => `${prefix}:idx:status:${status}`,
    indexTeamStatus: (team, status) => `${prefix}:idx:team-status:${team}:${status}`,
    claim: (key) => `${prefix}:claim:${key}`,
    // `|` separates the parts: an image name may hold a `:` (a registry port), never a `|`.
    approval: (team, image, digest) => `${prefix}:approval:${team}|${image}|${digest}`,
    approvedTag: (team, image, platforms, tag) => `${approvedTagHead(prefix)}${team}|${image}|${platforms}|${tag}`,
    revokedTag: (team, image, platforms, tag) => `${revokedTagHead(prefix)}${team}|${image}|${platforms}|${tag}`,
    approvalImages: (team, digest) => `${prefix}:approval-images:${team}|${digest}`,
    approvalSource: (team, image, platforms, sourceDigest) => `${prefix}:approval-source:${team}|${image}|${platforms}|${sourceDigest}`,
    approvalTags: (team, image, digest) => `${prefix}:approval-tags:${team}|${image}|${digest}`,
    approvalsByTeam: (team) => `${prefix}:approvals:${team}`,
    report: (id) => `${prefix}:report:${id}`,
    reportRefs: (id) => `${prefix}:report-refs:${id}`,
    revoked: (team, digest) => `${prefix}:revoked:${team}|${digest}`,
    keptImages: (team, digest) => `${prefix}:kept-images:${team}|${digest}`,
    scanResult: (scanner, digest) => `${prefix}:scan:${scanner}:${digest}`,
    codeScanFindings: (requestId, scanId) => `${prefix}:code-scan:${requestId}:${scanId}`,
    auditOutbox: () => `${prefix}:audit:outbox`,
    requestsByDigest: (team, digest) => `${prefix}:idx:digest:${team}:${digest}`,
    requestsByDigestAll: (digest) => `${prefix}:idx:digest-all:${digest}`,
    findingTerm: (term) => `${prefix}:idx:finding:${term}`,
    findingDigest: (requestId) => `${prefix}:idx:finding-req:${requestId}`,
    findingIndexed: () => `${prefix}:idx:finding-indexed`,
    findingTerms: () => `${prefix}:idx:finding-terms`,
    findingTermsReady: () => `${prefix}:idx:finding-terms-ready`,
  };
}

/**
 * The index member of a request: creation time (zero-padded ms) then id, so that a
 * lexicographic range is a chronological one and the member itself is a stable cursor.
 */
export function indexMember(createdAt: string, id: string): string {
  return `${String(Date.parse(createdAt)).padStart(15, '0')}|${id}`;
}

export function memberId(member: string): string {
  return member.slice(member.indexOf('|') + 1);
}

/** Cursors are opaque to clients: base64url of the last member served. */
export function encodeCursor(member: string): string {
  return Buffer.from(member, 'utf8').toString('base64url');
}

/** The cursor that resumes a listing right after `r` (in either order). */
export function requestCursor(r: { createdAt: string; id: string }): string {
  return encodeCursor(indexMember(r.createdAt, r.id));
}

export function decodeCursor(cursor: string): string | null {
  const member = Buffer.from(cursor, 'base64url').toString('utf8');
  return /^\d{15}\|[A-Za-z0-9_-]{1,100}$/.test(member) ? member : null;
}
