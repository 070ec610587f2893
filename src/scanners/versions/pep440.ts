/**
 * PEP 440 version ordering for PyPI, following the reference implementation's sort key
 * (`packaging.version._cmpkey`): epoch, release (trailing zeros ignored), pre-release
 * (`a` < `b` < `rc`; a dev-only release sorts before its pre-releases), post-release, dev
 * release, then local version (`+ubuntu.1`, numeric segments above alphanumeric ones).
 * Spellings are normalized as PEP 440 requires (`alpha`→`a`, `c`/`pre`/`preview`→`rc`,
 * `rev`/`r`→`post`, `-1` as an implicit post release, `_`/`-`/`.` separators, leading `v`).
 */
import type { VersionScheme } from './types';

// The regular expression PEP 440 Appendix B publishes, lightly reformatted.
const PATTERN = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

export interface Pep440Version {
  epoch: number;
  release: number[];
  pre?: { label: 'a' | 'b' | 'rc'; n: number };
  post?: number;
  dev?: number;
  local?: Array<number | string>;
}

function normalizePreLabel(l: string): 'a' | 'b' | 'rc' {
  const lower = l.toLowerCase();
  if (lower === 'a' || lower === 'alpha') return 'a';
  if (lower === 'b' || lower === 'beta') return 'b';
  return 'rc';
}

/**
 * Parsed versions, by text: matching compares the same few thousand range bounds against every
 * package (a fleet re-match does it a million times), and the regex is the cost. Bounded: cleared
 * when full. Callers treat the result as read-only.
 */
const PARSED = new Map<string, Pep440Version | null>();
const MAX_PARSED = 100_000;

export function parsePep440(version: string): Pep440Version | null {
  const cached = PARSED.get(version);
  if (cached !== undefined) return cached;
  const parsed = parseUncached(version);
  if (PARSED.size >= MAX_PARSED) PARSED.clear();
  PARSED.set(version, parsed);
  return parsed;
}

function parseUncached(version: string): Pep440Version | null {
  const m = PATTERN.exec(version);
  const g = m?.groups;
  if (!g || g.release === undefined) return null;
  const v: Pep440Version = {
    epoch: g.epoch ? Number(g.epoch) : 0,
    release: g.release.split('.').map(Number),
  };
  if (g.pre_l) v.pre = { label: normalizePreLabel(g.pre_l), n: g.pre_n ? Number(g.pre_n) : 0 };
  if (g.post_n1 !== undefined) v.post = Number(g.post_n1);
  else if (g.post_l) v.post = g.post_n2 ? Number(g.post_n2) : 0;
  if (g.dev_l) v.dev = g.dev_n ? Number(g.dev_n) : 0;
  if (g.local) {
    v.local = g.local
      .toLowerCase()
      .split(/[-_.]/)
      .map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
  }
  return v;
}

/** The canonical spelling PEP 440 defines, e.g. `1.0a1.post2.dev3+abc.1`. */
export function normalizePep440(version: string): string | null {
  const v = parsePep440(version);
  if (!v) return null;
  let s = v.epoch ? `${v.epoch}!` : '';
  s += v.release.join('.');
  if (v.pre) s += `${v.pre.label}${v.pre.n}`;
  if (v.post !== undefined) s += `.post${v.post}`;
  if (v.dev !== undefined) s += `.dev${v.dev}`;
  if (v.local) s += `+${v.local.join('.')}`;
  return s;
}

const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

function compareRelease(a: number[], b: number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const d = cmp(a[i] ?? 0, b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Pre-release rank: -∞ for a dev-only release (1.0.dev0 < 1.0a1), +∞ when absent; then its number. */
function preRank(v: Pep440Version): number {
  if (v.pre) return PRE_RANK[v.pre.label];
  return v.post === undefined && v.dev !== undefined ? -Infinity : Infinity;
}

function compareLocal(a?: Array<number | string>, b?: Array<number | string>): number {
  if (!a || !b) return a ? 1 : b ? -1 : 0;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const x = a[i];
    const y = b[i];
    // A longer local version with an equal prefix is greater.
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    if (typeof x === 'number' && typeof y === 'number') {
      if (x !== y) return cmp(x, y);
    } else if (typeof x === 'number' || typeof y === 'number') {
      return typeof x === 'number' ? 1 : -1; // numeric segments sort above strings
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

export function comparePep440(a: string, b: string): number {
  const va = parsePep440(a);
  const vb = parsePep440(b);
  if (!va || !vb) throw new Error(`invalid PEP 440 version: ${!va ? a : b}`);
  // No tuple is built per comparison: a fleet re-match compares millions of times.
  return (
    cmp(va.epoch, vb.epoch) ||
    compareRelease(va.release, vb.release) ||
    cmp(preRank(va), preRank(vb)) ||
    cmp(va.pre?.n ?? 0, vb.pre?.n ?? 0) ||
    cmp(va.post ?? -Infinity, vb.post ?? -Infinity) ||
    cmp(va.dev ?? Infinity, vb.dev ?? Infinity) ||
    compareLocal(va.local, vb.local)
  );
}

export const pep440Scheme: VersionScheme = {
  name: 'pep440',
  isValid: (v) => parsePep440(v) !== null,
  compare: comparePep440,
};
