/**
 * An in-memory OSV index keyed by (ecosystem, package name). Only what matching and findings
 * need is kept per advisory, so a full distribution export stays within a few hundred MB.
 *
 * An advisory without a scorable severity (every Go one: the Go database scores none) takes
 * the severity of another record in the data that names the same vulnerability (its id or an
 * alias: a GHSA record, a CVE record), the most severe when several do, as Trivy and Grype
 * rank Go findings. Only when no record does is it `unknown` (a coverage finding).
 */
import { AppError } from '../../lib/errors';
import type { InstalledPackage } from '../packages';
import { MAX_FINDING_LINKS, SEVERITIES, type Finding } from '../types';
import { schemeForEcosystem } from '../versions';
import { advisoryNames, canonicalEcosystem } from './ecosystems';
import { loadRecords, type LoadStats } from './loader';
import { matchAffected } from './match';
import type { OsvAffected, OsvRecord } from './schema';
import { advisorySeverity, type AdvisorySeverity } from './severity';

export interface IndexedAdvisory extends AdvisorySeverity {
  id: string;
  aliases: string[];
  title: string;
  links: string[];
  affected: OsvAffected;
}

/** PEP 503 name normalization: PyPI treats `Foo_Bar`, `foo-bar` and `foo.bar` as one package. */
function normalizeName(ecosystem: string, name: string): string {
  return ecosystem === 'PyPI' ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}

function key(ecosystem: string, name: string): string {
  return `${ecosystem}\u0000${normalizeName(ecosystem.split(':', 1)[0] ?? ecosystem, name)}`;
}

/**
 * The index keys a package of `ecosystem` named `name` (its source package's name where it has
 * one) is looked up under: an advisory for the bare ecosystem (`Debian`) applies to every
 * release of it. The re-match (src/monitor/rematch.ts) re-matches a package only when the data
 * under one of these keys changed.
 */
export function lookupKeys(ecosystem: string, name: string): string[] {
  const base = ecosystem.split(':', 1)[0] ?? ecosystem;
  return base === ecosystem ? [key(ecosystem, name)] : [key(ecosystem, name), key(base, name)];
}

/** Every index key a package is looked up under (each name it is known by, ./ecosystems.ts `advisoryNames`). */
export function packageLookupKeys(pkg: InstalledPackage): string[] {
  return advisoryNames(pkg.ecosystem, pkg.name, pkg.sourceName).flatMap((n) => lookupKeys(pkg.ecosystem, n));
}

/** One advisory a package is affected by: its position among the package's candidates, and the fix. */
export interface AdvisoryMatch {
  at: number;
  fixedVersion?: string;
}

function titleOf(r: OsvRecord): string {
  const text = r.summary?.trim() || r.details?.trim().split('\n', 1)[0] || r.id;
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

export class OsvDatabase {
  private readonly index = new Map<string, IndexedAdvisory[]>();
  /** Id or alias → the most severe scored severity of a record that names it. */
  private readonly scored = new Map<string, AdvisorySeverity>();
  private stats: LoadStats = { files: 0, records: 0, invalid: 0 };

  /** Loads every record under `root` (JSON files and `all.zip` exports). */
  static async load(root: string): Promise<OsvDatabase> {
    const db = new OsvDatabase();
    db.stats = await loadRecords(root, (r) => db.add(r));
    return db;
  }

  /** Adds one record; withdrawn advisories are not indexed. */
  add(record: OsvRecord): void {
    if (record.withdrawn) return;
    const title = titleOf(record);
    const links = (record.references ?? []).map((ref) => ref.url).slice(0, MAX_FINDING_LINKS);
    const aliases = [...new Set([...(record.aliases ?? []), ...(record.upstream ?? [])])];
    // What others may borrow: a CVSS score or the database's own label, not a distribution's
    // priority (Ubuntu's), which ranks the vulnerability for that distribution's package only.
    const recordSev = advisorySeverity(record.severity?.filter((e) => e.type !== 'Ubuntu'), record.database_specific);
    if (recordSev.severity !== 'unknown') for (const name of [record.id, ...aliases]) this.noteScored(name, recordSev);
    for (const affected of record.affected ?? []) {
      const sev = advisorySeverity(
        affected.severity ?? record.severity,
        affected.database_specific,
        record.database_specific,
      );
      const k = key(canonicalEcosystem(affected.package.ecosystem), affected.package.name);
      const list = this.index.get(k) ?? [];
      list.push({ id: record.id, aliases, title, links, affected, ...sev });
      this.index.set(k, list);
    }
  }

  private noteScored(name: string, sev: AdvisorySeverity): void {
    const had = this.scored.get(name);
    const rank = (x: AdvisorySeverity) => SEVERITIES.indexOf(x.severity);
    if (!had || rank(sev) < rank(had) || (rank(sev) === rank(had) && (sev.cvss?.score ?? 0) > (had.cvss?.score ?? 0))) this.scored.set(name, sev);
  }

  /** The advisory's own severity, else the most severe one another record gives its id or an alias. */
  private severityOf(adv: IndexedAdvisory): AdvisorySeverity {
    if (adv.severity !== 'unknown') return adv;
    let best: AdvisorySeverity | undefined;
    for (const name of [adv.id, ...adv.aliases]) {
      const s = this.scored.get(name);
      if (s && (!best || SEVERITIES.indexOf(s.severity) < SEVERITIES.indexOf(best.severity))) best = s;
    }
    return best ?? adv;
  }

  get loadStats(): LoadStats {
    return { ...this.stats };
  }

  /** Number of (ecosystem, package) keys indexed. */
  get size(): number {
    return this.index.size;
  }

  private candidates(ecosystem: string, name: string): IndexedAdvisory[] {
    return lookupKeys(ecosystem, name).flatMap((k) => this.index.get(k) ?? []);
  }

  /** The advisories a package is looked up against, in order: under each name it is known by (./ecosystems.ts `advisoryNames`). */
  private packageCandidates(pkg: InstalledPackage): IndexedAdvisory[] {
    const names = advisoryNames(pkg.ecosystem, pkg.name, pkg.sourceName);
    return names.length === 1 ? this.candidates(pkg.ecosystem, names[0]!) : names.flatMap((n) => this.candidates(pkg.ecosystem, n));
  }

  /**
   * How many candidate advisories matching `pkg` compares its version with, without listing
   * them: what bounds the cost of matching an image (../builtin/match.ts).
   */
  candidateCount(pkg: InstalledPackage): number {
    let n = 0;
    for (const name of advisoryNames(pkg.ecosystem, pkg.name, pkg.sourceName)) {
      for (const k of lookupKeys(pkg.ecosystem, name)) n += this.index.get(k)?.length ?? 0;
    }
    return n;
  }

  /** The indexed advisories per key and the borrowable severities: what a data version's manifest is made of (./manifest.ts). */
  get contents(): { index: ReadonlyMap<string, readonly IndexedAdvisory[]>; scored: ReadonlyMap<string, AdvisorySeverity> } {
    return { index: this.index, scored: this.scored };
  }

  /** Vulnerability findings for one installed package, one per advisory. */
  findingsFor(pkg: InstalledPackage): Finding[] {
    // Most packages match nothing: their candidates are not looked up a second time.
    const matches = this.matchesFor(pkg);
    return matches.length === 0 ? [] : this.findingsAt(pkg, matches);
  }

  /** Which of the package's candidate advisories affect it (the version comparisons), in finding order. */
  matchesFor(pkg: InstalledPackage): AdvisoryMatch[] {
    const version = pkg.sourceVersion ?? pkg.version;
    const scheme = schemeForEcosystem(pkg.ecosystem);
    const seen = new Set<string>();
    const matches: AdvisoryMatch[] = [];
    for (const [at, adv] of this.packageCandidates(pkg).entries()) {
      if (seen.has(adv.id)) continue;
      const m = matchAffected(version, adv.affected, scheme);
      if (!m) continue;
      seen.add(adv.id);
      matches.push(m.fixedVersion !== undefined ? { at, fixedVersion: m.fixedVersion } : { at });
    }
    return matches;
  }

  /**
   * The findings of {@link matchesFor}'s answer, without comparing a version: a re-match reuses
   * the answer found under an earlier data version whose advisories under the package's keys
   * (and the severities they borrow) are unchanged (src/monitor/rematch-memo.ts).
   */
  findingsAt(pkg: InstalledPackage, matches: readonly AdvisoryMatch[]): Finding[] {
    const candidates = this.packageCandidates(pkg);
    const findings: Finding[] = [];
    for (const m of matches) {
      const adv = candidates[m.at];
      if (!adv) throw new AppError('INTERNAL', `advisory ${m.at} of ${pkg.ecosystem}/${pkg.name} is not in this data`);
      const sev = this.severityOf(adv);
      findings.push({
        id: adv.id,
        aliases: adv.aliases,
        kind: 'vulnerability',
        package: pkg.name,
        ecosystem: pkg.ecosystem,
        installedVersion: pkg.version,
        ...(m.fixedVersion !== undefined ? { fixedVersion: m.fixedVersion } : {}),
        severity: sev.severity,
        ...(sev.cvss ? { cvss: sev.cvss } : {}),
        title: adv.title,
        links: adv.links,
        path: pkg.path,
        ...(pkg.layer ? { layer: pkg.layer } : {}),
      });
    }
    return findings;
  }
}
