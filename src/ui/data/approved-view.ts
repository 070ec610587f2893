/**
 * Approved images of a set of teams, folded for the overview and the alerts: per image its
 * highest severity at approval, unique CVEs and instances per severity over all of them, and
 * waivers that expire soon. Reads request summaries (no findings) and the finding index's
 * per-request digest; an approved request not yet indexed counts as "not indexed", not as clean.
 */
import { SEVERITIES, type Severity, type SeveritySummary } from '../../scanners/types';
import type { FindingIndex } from '../../store';
import type { RequestStore, RequestSummary } from '../../store/types';

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

export async function foldApproved(findings: FindingIndex, approved: readonly RequestSummary[]): Promise<ApprovedFold> {
  const digests = await findings.digests(approved.map((r) => r.id));
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
