/**
 * An approval's health as a pure function of the findings at approval time, the findings now,
 * the request's waivers and code scans, today's policy, the previous record and the clock: the
 * policy module's own `evaluate` decides what blocks (so "blocks under today's policy" means
 * exactly what the gate means), and this file only says why each finding blocks and by when
 * it must be dealt with.
 */
import { evaluate, type PolicyConfig } from '../policy';
import { SEVERITIES, type Finding, type Severity } from '../scanners/types';
import type { IntakeRequest } from '../store/types';
import type { GraceConfig } from './config';
import type { BlockingFinding, FindingRef, HealthRecord, MaxSeverity } from './types';

/** Findings listed in a diff at most (the totals say how many there were). */
export const MAX_DIFF = 200;

/** One finding's identity across scans: the advisory and where it was found. */
export function findingKey(f: Pick<Finding, 'id' | 'package' | 'installedVersion' | 'path'>): string {
  return `${f.id}|${f.package ?? f.path ?? ''}|${f.installedVersion ?? ''}`;
}

type Identified = Pick<Finding, 'id' | 'aliases' | 'package' | 'installedVersion' | 'path'>;
const placeOf = (f: Identified): string => `${f.package ?? f.path ?? ''}|${f.installedVersion ?? ''}`;

/**
 * Findings known by any of their ids. One vulnerability can be reported under another id in a
 * later scan: two databases' twin records are merged into one finding led by one id and listing
 * the other as an alias (scanners/builtin/twins.ts), and the lead changes when a twin appears.
 * A finding is the same as a known one in the same place when either's id is the other's id or
 * one of its aliases; sharing only an alias (a CVE) is not enough (two advisories of a CVE can
 * carry different fixes).
 */
export class KnownFindings<T extends Identified = Identified> {
  /** place → id or alias → the findings that carry it. */
  private readonly byName = new Map<string, Map<string, T[]>>();

  /**
   * @param pathless The known findings keep no path (a health record's blocking findings,
   * FindingRef): a finding of no package (a misconfiguration, an unscanned OS) is found among
   * them by its ids alone, or its deadline would move at every evaluation.
   */
  constructor(findings: Iterable<T> = [], private readonly pathless = false) {
    for (const f of findings) this.add(f);
  }

  add(f: T): void {
    const place = placeOf(f);
    let names = this.byName.get(place);
    if (!names) this.byName.set(place, (names = new Map()));
    for (const n of [f.id, ...f.aliases]) {
      const list = names.get(n);
      if (list) list.push(f);
      else names.set(n, [f]);
    }
  }

  /** The known finding that is `f`, preferring one with `f`'s own id. */
  find(f: Identified): T | undefined {
    const place = this.pathless && f.package === undefined ? placeOf({ ...f, path: undefined }) : placeOf(f);
    return this.findAt(place, f);
  }

  private findAt(place: string, f: Identified): T | undefined {
    const names = this.byName.get(place);
    if (!names) return undefined;
    const exact = names.get(f.id)?.find((k) => k.id === f.id);
    if (exact) return exact;
    // A known finding that lists f's id as an alias, or whose id f lists.
    return names.get(f.id)?.[0] ?? f.aliases.flatMap((a) => names.get(a) ?? []).find((k) => f.aliases.includes(k.id));
  }

  has(f: Identified): boolean {
    return this.find(f) !== undefined;
  }
}

export function findingRef(f: Finding): FindingRef {
  return {
    id: f.id, aliases: f.aliases, severity: f.severity, kind: f.kind,
    ...(f.package ? { package: f.package } : {}), ...(f.installedVersion ? { installedVersion: f.installedVersion } : {}),
    ...(f.fixedVersion ? { fixedVersion: f.fixedVersion } : {}),
  };
}

const RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, unknown: 0 };

export function maxSeverity(findings: readonly Finding[]): MaxSeverity {
  let best: Severity | undefined;
  for (const f of findings) {
    if (f.kind !== 'vulnerability') continue;
    if (!best || RANK[f.severity] > RANK[best]) best = f.severity;
  }
  return best ?? 'none';
}

/** Findings of `a` that `b` does not know (under any of their ids), one per key. */
function minus(a: readonly Finding[], b: readonly Finding[]): Finding[] {
  const known = new KnownFindings(b);
  const seen = new Set<string>();
  return a.filter((f) => {
    const k = findingKey(f);
    if (known.has(f) || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The diff of `current` against `baseline`, severest first, capped. */
export function findingsDiff(baseline: readonly Finding[], current: readonly Finding[]): HealthRecord['diff'] {
  const order = (x: Finding, y: Finding) => RANK[y.severity] - RANK[x.severity] || x.id.localeCompare(y.id);
  const added = minus(current, baseline).sort(order);
  const removed = minus(baseline, current).sort(order);
  return { added: added.slice(0, MAX_DIFF).map(findingRef), removed: removed.slice(0, MAX_DIFF).map(findingRef), addedTotal: added.length, removedTotal: removed.length };
}

export interface AssessInput {
  request: Pick<IntakeRequest, 'team' | 'waivers' | 'codeScans'>;
  image: string;
  digest: string;
  /** The image findings at approval time (the approved request's scans). */
  baseline: readonly Finding[];
  /** The image findings now (stored re-scans and re-matches, else the baseline's). */
  current: readonly Finding[];
  policy: PolicyConfig;
  grace: GraceConfig;
  previous: HealthRecord | null;
  /** Findings an approver kept at a re-review, until they expire (see review.ts). @defaultValue [] */
  accepted?: ReadonlyArray<{ findingId: string; reason: string; expires: string; by: string }>;
  now: Date;
}

export interface Assessment {
  state: 'ok' | 'at_risk';
  blocking: BlockingFinding[];
  diff: HealthRecord['diff'];
  maxSeverity: MaxSeverity;
  deadline?: string;
}

export function assess(input: AssessInput): Assessment {
  const { now, request } = input;
  const result = evaluate({
    findings: input.current,
    codeScans: request.codeScans.map((c) => ({ tool: c.tool, findings: c.findings })),
    waivers: [...request.waivers, ...(input.accepted ?? [])].map(({ findingId, reason, expires, by }) => ({ findingId, reason, expires, by })),
    config: input.policy, team: request.team, image: { repository: input.image, digest: input.digest }, now,
  });
  // Known under any of their ids: a finding merged with its twin, or led by another id since, is not new.
  const baseline = new KnownFindings(input.baseline);
  const before = new KnownFindings(input.previous?.blocking ?? [], true);
  const blocking: BlockingFinding[] = [];
  const seen = new Set<string>();
  for (const f of result.blocking) {
    const key = findingKey(f);
    if (seen.has(key)) continue;
    seen.add(key);
    const names = [f.id, ...f.aliases];
    // An expired waiver of the approved request counts for a finding it was granted on (known at
    // approval); an expired acceptance of a re-review for any finding it named.
    const known = baseline.has(f);
    const expired = [...(known ? request.waivers : []), ...(input.accepted ?? [])]
      .filter((w) => names.includes(w.findingId) && Date.parse(w.expires) <= now.getTime())
      .sort((a, b) => Date.parse(b.expires) - Date.parse(a.expires))[0];
    const cause = expired ? 'waiver_expired' : !known ? 'new' : 'policy';
    // A deadline, once set, does not move: re-evaluating must not grant more grace.
    const since = before.find(f)?.since ?? (cause === 'waiver_expired' && expired ? new Date(Date.parse(expired.expires)).toISOString() : now.toISOString());
    const deadline = new Date(Date.parse(since) + input.grace[f.severity]).toISOString();
    blocking.push({ ...findingRef(f), title: f.title, cause, since, deadline });
  }
  blocking.sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline) || RANK[b.severity] - RANK[a.severity]);
  return {
    state: blocking.length ? 'at_risk' : 'ok',
    blocking,
    diff: findingsDiff(input.baseline, input.current),
    maxSeverity: maxSeverity(input.current),
    ...(blocking.length ? { deadline: blocking[0].deadline } : {}),
  };
}

/** The severest severity among blocking findings (the at-risk gauge's label). */
export function severestBlocking(blocking: readonly BlockingFinding[]): Severity {
  return SEVERITIES.find((s) => blocking.some((b) => b.severity === s)) ?? 'unknown';
}
