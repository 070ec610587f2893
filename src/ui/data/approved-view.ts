/**
 * Approved images of a set of teams, folded for the overview and the alerts: per image its
 * highest severity at approval, unique CVEs and instances per severity over all of them, and
 * waivers that expire soon.
 *
 * An approved image is an entry of the ledger (src/store/redis-approvals.ts: one per team,
 * image and digest, in the team's inventory once promoted), not an approved request: a second
 * request for a digest already approved is answered at once, `approved` with no scan of its
 * own, so counting requests counted that image twice and left the copy "not indexed" forever.
 * Each approval's findings are those of the request that was scanned and approved
 * (`requestId`), read from the finding index; one not indexed yet counts as "not indexed",
 * not as clean (the indexer and the start-up backfill catch up).
 */
import { SEVERITIES, type Severity, type SeveritySummary } from '../../scanners/types';
import type { FindingIndex } from '../../store';
import type { Approval, ApprovalStore, RequestStore, RequestSummary } from '../../store/types';

export interface ApprovedFold {
  images: number;
  /** Images by their highest severity (`none`: no vulnerability). */
  byHighest: Record<Severity | 'none', number>;
  uniqueCves: SeveritySummary;
  instances: SeveritySummary;
  notIndexed: number;
}

const zero = (): SeveritySummary => ({ critical: 0, high: 0, medium: 0, low: 0, unknown: 0 });

/** Every approved request of `teams` (bounded by `max`), newest first. */
export async function approvedRequests(requests: Pick<RequestStore, 'list'>, teams: readonly string[] | '*', max = 20_000): Promise<RequestSummary[]> {
  const out: RequestSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await requests.list({ teams: teams === '*' ? '*' : [...teams], status: 'approved', limit: 1000, cursor });
    out.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor && out.length < max);
  return out;
}

/** Every completed approval of `teams` (each team's ledger inventory), at most `max` in all. */
export async function approvedImages(approvals: Pick<ApprovalStore, 'list'>, teams: readonly string[], max = 20_000): Promise<Approval[]> {
  const out: Approval[] = [];
  for (const team of teams) {
    let cursor: string | undefined;
    do {
      const page = await approvals.list(team, { limit: 1000, ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.next ?? undefined;
    } while (cursor && out.length < max);
    if (out.length >= max) break;
  }
  return out.slice(0, max);
}

export async function foldApproved(findings: FindingIndex, approved: ReadonlyArray<Pick<Approval, 'requestId'>>): Promise<ApprovedFold> {
  const digests = await findings.digests(approved.map((a) => a.requestId));
  const unique = Object.fromEntries(SEVERITIES.map((s) => [s, new Set<string>()])) as Record<Severity, Set<string>>;
  const fold: ApprovedFold = { images: approved.length, byHighest: { ...zero(), none: 0 }, uniqueCves: zero(), instances: zero(), notIndexed: 0 };
  for (const d of digests) {
    if (!d) { fold.notIndexed += 1; continue; }
    const top = SEVERITIES.find((s) => d.instances[s] > 0) ?? 'none';
    fold.byHighest[top] += 1;
    for (const s of SEVERITIES) {
      fold.instances[s] += d.instances[s];
      for (const id of d.vulns[s]) unique[s].add(id);
    }
  }
  for (const s of SEVERITIES) fold.uniqueCves[s] = unique[s].size;
  return fold;
}

export interface ExpiringWaiver {
  requestId: string;
  team: string;
  image: string;
  findingId: string;
  expires: string;
  by: string;
}

/** Waivers of approved images that expire within `days` (or have expired: the approval now relies on nothing). */
export function expiringWaivers(approved: readonly RequestSummary[], now: number, days = 7): ExpiringWaiver[] {
  const horizon = now + days * 86_400_000;
  return approved.flatMap((r) => r.waivers.filter((w) => Date.parse(w.expires) <= horizon)
    .map((w) => ({ requestId: r.id, team: r.team, image: r.image, findingId: w.findingId, expires: w.expires, by: w.by })))
    .sort((a, b) => a.expires.localeCompare(b.expires));
}
