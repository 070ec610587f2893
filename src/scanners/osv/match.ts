/**
 * Whether a version is affected by one OSV `affected[]` entry: the evaluation algorithm of the
 * OSV schema (docs/schema.md, "Evaluation"), with the ordering of the package's ecosystem.
 * ECOSYSTEM ranges use that ordering, SEMVER ranges SemVer 2.0; GIT ranges cannot be
 * evaluated without the repository and are ignored (the `versions` list covers them).
 */
import { semverScheme } from '../versions/semver';
import type { VersionScheme } from '../versions/types';
import type { OsvAffected, OsvEvent, OsvRange } from './schema';

export interface MatchResult {
  /** The first `fixed` version above the installed one in the matching range, if any. */
  fixedVersion?: string;
}

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';
interface Ev {
  kind: Kind;
  version: string;
}

function toEv(e: OsvEvent): Ev {
  const [kind, version] = Object.entries(e)[0] as [Kind, string];
  return { kind, version };
}

/** `introduced: "0"` sorts before everything, `limit: "*"` after everything. */
function isMin(e: Ev): boolean {
  return e.kind === 'introduced' && e.version === '0';
}
function isMax(e: Ev): boolean {
  return e.kind === 'limit' && e.version.includes('*');
}

function compareEv(scheme: VersionScheme, a: Ev, b: Ev): number {
  if (isMin(a) || isMin(b)) return isMin(a) && isMin(b) ? 0 : isMin(a) ? -1 : 1;
  if (isMax(a) || isMax(b)) return isMax(a) && isMax(b) ? 0 : isMax(a) ? 1 : -1;
  return scheme.compare(a.version, b.version);
}

/** A range's events as the evaluation walks them: checked and sorted once per range and scheme. */
interface PreparedRange {
  /** False when an event's version is one the ordering does not parse: the range cannot be evaluated. */
  valid: boolean;
  limits: Ev[];
  sorted: Ev[];
}

/**
 * Prepared ranges, per range and scheme: preparing a range (reading, checking and sorting its
 * events) cost more than evaluating it, and a fleet re-match evaluates the same ranges against
 * a hundred thousand package versions.
 */
const PREPARED = new WeakMap<OsvRange, Map<VersionScheme, PreparedRange>>();

function prepared(range: OsvRange, scheme: VersionScheme): PreparedRange {
  let byScheme = PREPARED.get(range);
  if (!byScheme) PREPARED.set(range, (byScheme = new Map()));
  let p = byScheme.get(scheme);
  if (!p) {
    const events = range.events.map(toEv);
    const valid = events.every((e) => isMin(e) || isMax(e) || scheme.isValid(e.version));
    p = valid
      ? { valid, limits: events.filter((e) => e.kind === 'limit'), sorted: [...events].sort((a, b) => compareEv(scheme, a, b)) }
      : { valid, limits: [], sorted: [] };
    byScheme.set(scheme, p);
  }
  return p;
}

/** null when the range cannot be evaluated (a version the ordering does not parse). */
function matchRange(version: string, range: OsvRange, scheme: VersionScheme): MatchResult | null {
  const { valid, limits, sorted } = prepared(range, scheme);
  if (!valid) return null;
  const cmp = (e: Ev): number => (isMin(e) ? 1 : isMax(e) ? -1 : scheme.compare(version, e.version));
  if (limits.length > 0 && !limits.some((e) => cmp(e) < 0)) return null;

  let vulnerable = false;
  for (const e of sorted) {
    if (e.kind === 'introduced' && cmp(e) >= 0) vulnerable = true;
    else if (e.kind === 'fixed' && cmp(e) >= 0) vulnerable = false;
    else if (e.kind === 'last_affected' && cmp(e) > 0) vulnerable = false;
  }
  if (!vulnerable) return null;
  const fixed = sorted.find((e) => e.kind === 'fixed' && cmp(e) < 0);
  return fixed ? { fixedVersion: fixed.version } : {};
}

/**
 * The entry's `versions` that the scheme parses, sorted by it, computed once per entry and
 * scheme: a PyPI advisory lists hundreds of versions, and comparing each one with every
 * installed package was most of the matching time.
 */
const SORTED = new WeakMap<OsvAffected, Map<VersionScheme, string[]>>();

function sortedVersions(affected: OsvAffected, scheme: VersionScheme): string[] {
  let byScheme = SORTED.get(affected);
  if (!byScheme) SORTED.set(affected, (byScheme = new Map()));
  let sorted = byScheme.get(scheme);
  if (!sorted) {
    sorted = (affected.versions ?? []).filter((v) => scheme.isValid(v)).sort((a, b) => scheme.compare(a, b));
    byScheme.set(scheme, sorted);
  }
  return sorted;
}

/** The entry's `versions` as a set, once per entry: an exact spelling is looked up, not searched for. */
const LISTED = new WeakMap<OsvAffected, Set<string>>();

function listedExactly(affected: OsvAffected, version: string): boolean {
  if (!affected.versions || affected.versions.length === 0) return false;
  let set = LISTED.get(affected);
  if (!set) LISTED.set(affected, (set = new Set(affected.versions)));
  return set.has(version);
}

/** Whether `sorted` holds a version equal to `version` under the scheme (binary search). */
function listedUnder(sorted: readonly string[], version: string, scheme: VersionScheme): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = scheme.compare(sorted[mid]!, version);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Evaluates one `affected[]` entry (the package name and ecosystem are matched by the
 * caller). Returns null when not affected.
 */
export function matchAffected(version: string, affected: OsvAffected, scheme: VersionScheme | null): MatchResult | null {
  let listed = listedExactly(affected, version);
  if (!listed && scheme?.isValid(version)) {
    listed = listedUnder(sortedVersions(affected, scheme), version, scheme);
  }
  let best: MatchResult | null = null;
  for (const range of affected.ranges ?? []) {
    const rangeScheme = range.type === 'SEMVER' ? semverScheme : range.type === 'ECOSYSTEM' ? scheme : null;
    if (!rangeScheme || !rangeScheme.isValid(version)) continue;
    const r = matchRange(version, range, rangeScheme);
    // Prefer a range that names a fix: it tells the approver what to upgrade to.
    if (r && (!best || (!best.fixedVersion && r.fixedVersion))) best = r;
  }
  if (best) return best;
  return listed ? {} : null;
}
