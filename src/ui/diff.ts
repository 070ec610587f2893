/** Findings of a request against those of the last approval of the same repository. */
import type { Finding } from '../scanners/types';
import type { Approval, ApprovalStore } from '../store/types';

export interface FindingsDiff {
  added: Finding[];
  fixed: Finding[];
}

const keyOf = (f: Finding): string => `${f.id}|${f.package ?? ''}`;

export function diffFindings(current: readonly Finding[], previous: readonly Finding[]): FindingsDiff {
  const before = new Set(previous.map(keyOf));
  const now = new Set(current.map(keyOf));
  const uniq = (list: readonly Finding[]): Finding[] => [...new Map(list.map((f) => [keyOf(f), f])).values()];
  return { added: uniq(current.filter((f) => !before.has(keyOf(f)))), fixed: uniq(previous.filter((f) => !now.has(keyOf(f)))) };
}

/**
 * The newest approval of `image` in `team` other than `digest`, reading the team's inventory
 * newest first (at most `maxScan` approvals). `cache` shares one read between queue rows.
 */
export async function previousApproval(approvals: Pick<ApprovalStore, 'list'>, team: string, image: string, digest: string | undefined,
  cache = new Map<string, Promise<Approval[]>>(), maxScan = 2000): Promise<Approval | null> {
  let all = cache.get(team);
  if (!all) {
    all = (async () => {
      const out: Approval[] = [];
      let cursor: string | undefined;
      do {
        const page = await approvals.list(team, { limit: 500, cursor });
        out.push(...page.items);
        cursor = page.next ?? undefined;
      } while (cursor && out.length < maxScan);
      return out;
    })();
    cache.set(team, all);
  }
  return (await all).find((a) => a.image === image && a.digest !== digest) ?? null;
}
