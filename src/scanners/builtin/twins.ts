/**
 * Twins: two databases' records of one vulnerability that both match one installed package,
 * such as the Go database's GO-2022-1059 and GitHub's GHSA-69ch-w2m2-3vjp for
 * golang.org/x/text 0.3.7 (the Go record lists the GitHub one among its aliases). They are one
 * problem to fix, so they are one finding: records that name each other (one's id among the
 * other's aliases, followed transitively) are merged; records that merely share a CVE alias
 * are not, since two distribution advisories for one CVE can carry different fixes.
 *
 * The merged finding:
 * - leads with the id of the ecosystem's own database (GO- for Go, PYSEC- for PyPI,
 *   RUSTSEC- for crates.io…), else GitHub's GHSA-, else the smallest id: the ecosystem's
 *   database is the one its tools and people use (govulncheck, pkg.go.dev show GO- ids) and it
 *   names the affected module exactly, and a fixed order makes the lead independent of the
 *   order the data was loaded in. The other ids are kept as aliases, so a waiver or an
 *   allowlist entry written against any of them still matches (policy/evaluate.ts matches the
 *   id and every alias), and the monitoring diff knows it under any of them (monitor/assess.ts);
 * - takes the most severe known severity of its records (with that record's CVSS);
 * - keeps the highest fixed version, the one that resolves every merged record.
 */
import type { Finding } from '../types';
import { SEVERITIES } from '../types';
import { schemeForEcosystem } from '../versions';

/** The id prefix of each ecosystem's own advisory database. */
const NATIVE: Record<string, string> = { Go: 'GO-', PyPI: 'PYSEC-', 'crates.io': 'RUSTSEC-', Packagist: 'PKSA-', RubyGems: 'RUBY-' };
const MAX_LINKS = 8;

function leadRank(f: Finding): number {
  const native = NATIVE[(f.ecosystem ?? '').split(':', 1)[0] ?? ''];
  if (native && f.id.startsWith(native)) return 0;
  return f.id.startsWith('GHSA-') ? 1 : 2;
}

const rank = (f: Finding): number => SEVERITIES.indexOf(f.severity);

function merge(group: Finding[]): Finding {
  const sorted = [...group].sort((a, b) => leadRank(a) - leadRank(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const lead = sorted[0]!;
  const others = sorted.slice(1);
  const aliases = [...new Set([...lead.aliases, ...others.flatMap((f) => [f.id, ...f.aliases])])].filter((a) => a !== lead.id);
  const severest = [...sorted].sort((a, b) => rank(a) - rank(b) || (b.cvss?.score ?? 0) - (a.cvss?.score ?? 0))[0]!;
  const scheme = lead.ecosystem ? schemeForEcosystem(lead.ecosystem) : null;
  const fixes = sorted.map((f) => f.fixedVersion).filter((v): v is string => v !== undefined);
  const fixedVersion = scheme ? fixes.filter((v) => scheme.isValid(v)).sort((a, b) => scheme.compare(b, a))[0] ?? fixes[0] : fixes[0];
  const { cvss: _cvss, fixedVersion: _fixed, ...rest } = lead;
  return {
    ...rest,
    aliases,
    ...(fixedVersion !== undefined ? { fixedVersion } : {}),
    severity: severest.severity,
    ...(severest.cvss ? { cvss: severest.cvss } : {}),
    links: [...new Set(sorted.flatMap((f) => f.links))].slice(0, MAX_LINKS),
  };
}

/**
 * The findings of one installed package with twins merged, in the order they came (a merged
 * finding where its first record was). Findings of other kinds pass through.
 */
export function mergeTwins(findings: readonly Finding[]): Finding[] {
  if (findings.length < 2) return [...findings];
  const parent = findings.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const at = new Map<string, number>();
  findings.forEach((f, i) => { if (f.kind === 'vulnerability' && !at.has(f.id)) at.set(f.id, i); });
  let merged = false;
  findings.forEach((f, i) => {
    if (f.kind !== 'vulnerability') return;
    for (const a of f.aliases) {
      const j = at.get(a);
      if (j === undefined || root(j) === root(i)) continue;
      parent[root(j)] = root(i);
      merged = true;
    }
  });
  if (!merged) return [...findings];
  const groups = new Map<number, Finding[]>();
  findings.forEach((f, i) => {
    const r = root(i);
    const g = groups.get(r);
    if (g) g.push(f);
    else groups.set(r, [f]);
  });
  const out: Finding[] = [];
  const done = new Set<number>();
  findings.forEach((_, i) => {
    const r = root(i);
    if (done.has(r)) return;
    done.add(r);
    const g = groups.get(r)!;
    out.push(g.length === 1 ? g[0]! : merge(g));
  });
  return out;
}
