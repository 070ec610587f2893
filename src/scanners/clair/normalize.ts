/**
 * Clair VulnerabilityReport → normalized findings: one finding per (package, vulnerability)
 * pair of `package_vulnerabilities`. Severity is Clair's `normalized_severity` (Negligible
 * counts as low); when Clair says Unknown but its CVSS enrichment has a score, the score's
 * band is used instead, since an unscored critical must not pass as unknown.
 */
import { parseCvss, severityFromScore } from '../cvss';
import { AppError } from '../../lib/errors';
import { severityFromLabel } from '../severity-labels';
import { MAX_FINDING_LINKS, type Cvss, type Finding } from '../types';
import { CVSS_ENRICHER_MARKER, cvssEnrichmentSchema, type ClairVulnerability, type VulnerabilityReport } from './api';

/** OSV-style ecosystem names for the distributions Portcullis' builtin scanner also names. */
const OSV_DISTROS: Record<string, (versionId: string) => string> = {
  debian: (v) => `Debian:${v.split('.')[0]}`,
  ubuntu: (v) => `Ubuntu:${v}`,
  alpine: (v) => `Alpine:v${v.split('.').slice(0, 2).join('.')}`,
};

/**
 * Findings one report may give: far above a real image's (a few thousand), far below what
 * exhausts the worker. Each finding is a (package, vulnerability) reference, so a report of a
 * few MB listing one vulnerability many times would otherwise multiply into millions of them.
 */
export const MAX_CLAIR_FINDINGS = 100_000;

/** Aliases kept per finding: real records name one to three CVEs besides their id. */
const MAX_ALIASES = 32;

const ADVISORY_ID = /^(CVE-\d{4}-\d+|GHSA(-[a-z0-9]{4}){3}|[A-Z]+SA-[\w:.-]+|[A-Z]+-\d{4}-\d+)$/i;

/** CVSS per vulnerability report id, from the clair.cvss enrichment; empty when absent or odd. */
function cvssByVulnerability(report: VulnerabilityReport): Map<string, Cvss> {
  const out = new Map<string, Cvss>();
  for (const [type, entries] of Object.entries(report.enrichments ?? {})) {
    if (!type.includes(CVSS_ENRICHER_MARKER) || !entries) continue;
    // Enrichments are extra data: one that does not parse is skipped, not a failed scan.
    const parsed = cvssEnrichmentSchema.safeParse(entries[0]);
    if (!parsed.success) continue;
    for (const [id, list] of Object.entries(parsed.data)) {
      for (const item of list) {
        const cvss = item.vectorString ? parseCvss(item.vectorString) : null;
        if (!cvss) continue;
        const score = cvss.score ?? item.baseScore ?? null;
        const prev = out.get(id);
        if (!prev || (score ?? -1) > (prev.score ?? -1)) out.set(id, { ...cvss, score });
      }
    }
  }
  return out;
}

/** Distinct CVE ids named in a vulnerability's name and links, upper-cased, at most `max`. */
function cvesNamed(v: ClairVulnerability, max: number): Set<string> {
  const found = new Set<string>();
  for (const m of `${v.name} ${v.links ?? ''}`.matchAll(/CVE-\d{4}-\d{4,}/gi)) {
    found.add(m[0].toUpperCase());
    if (found.size >= max) break;
  }
  return found;
}

/**
 * `CVE-2021-1234` from names such as `CVE-2021-1234`, `RHSA-2021:1024: openssl security update`.
 * Red Hat's per-CVE records are named by a sentence (`libssh: Missing checks for return
 * values for digests (low)`) and link the one CVE they are about: that CVE is the id, so a
 * waiver or an allowlist entry can name it; the sentence stays the title.
 */
function advisoryId(v: ClairVulnerability, cves: Set<string>): string {
  const first = v.name.trim().split(/\s+/)[0].replace(/:$/, '');
  if (ADVISORY_ID.test(first)) return first;
  // An updater's own id (`pyup.io-39606 (CVE-2020-36242)`) stays the id: two such records
  // about one CVE are two pairs, which a CVE id would merge into one.
  if (/\d/.test(first)) return v.name.trim();
  return cves.size === 1 ? [...cves][0]! : v.name.trim();
}

function titleOf(v: ClairVulnerability, id: string): string {
  const line = (v.description ?? '').trim().split('\n', 1)[0].trim() || (v.name.trim().startsWith(id) ? '' : v.name.trim());
  const title = line || (v.name.trim() !== id ? v.name.trim() : id);
  return title.length > 200 ? `${title.slice(0, 197)}...` : title;
}

/** The first {@link MAX_FINDING_LINKS} http(s) links, without splitting the whole string. */
function linksOf(v: ClairVulnerability): string[] {
  const links: string[] = [];
  for (const m of (v.links ?? '').matchAll(/\S+/g)) {
    if (/^https?:\/\//i.test(m[0])) links.push(m[0]);
    if (links.length >= MAX_FINDING_LINKS) break;
  }
  return links;
}

/** What a vulnerability gives each of its findings, whichever package it is found in. */
type VulnerabilityParts = Pick<Finding, 'id' | 'aliases' | 'severity' | 'title' | 'links' | 'fixedVersion' | 'cvss'>;

function partsOf(v: ClairVulnerability, cvss: Cvss | undefined): VulnerabilityParts {
  // One more than kept: the id may be among them.
  const cves = cvesNamed(v, MAX_ALIASES + 1);
  const id = advisoryId(v, cves);
  cves.delete(id.toUpperCase());
  let severity = severityFromLabel(v.normalized_severity);
  if (severity === 'unknown' && cvss?.score != null) severity = severityFromScore(cvss.score);
  return {
    id,
    aliases: [...cves].slice(0, MAX_ALIASES).sort(),
    severity,
    title: titleOf(v, id),
    links: linksOf(v),
    ...(v.fixed_in_version ? { fixedVersion: v.fixed_in_version } : {}),
    ...(cvss ? { cvss } : {}),
  };
}

/** (package, vulnerability) references in the report, each one finding. */
function referenceCount(report: VulnerabilityReport): number {
  let n = 0;
  for (const vulnIds of Object.values(report.package_vulnerabilities)) n += vulnIds?.length ?? 0;
  return n;
}

/**
 * One finding per (package, vulnerability) reference. A vulnerability's parts are derived once
 * and shared by its findings: deriving them per reference let one vulnerability with a 9 MB
 * `links` string, referenced 300 times, exhaust the worker's heap.
 * @throws AppError `SCAN_FAILED` when the report has more than {@link MAX_CLAIR_FINDINGS} references.
 */
export function normalizeClairReport(report: VulnerabilityReport): Finding[] {
  const references = referenceCount(report);
  if (references > MAX_CLAIR_FINDINGS) {
    throw new AppError('SCAN_FAILED', `Clair report for ${report.manifest_hash} lists ${references} package–vulnerability pairs, over the ${MAX_CLAIR_FINDINGS} Portcullis accepts`);
  }
  const cvssMap = cvssByVulnerability(report);
  const parts = new Map<string, VulnerabilityParts>();
  const partsFor = (vulnId: string, v: ClairVulnerability): VulnerabilityParts => {
    let p = parts.get(vulnId);
    if (!p) parts.set(vulnId, (p = partsOf(v, cvssMap.get(vulnId))));
    return p;
  };
  const findings: Finding[] = [];
  for (const [pkgId, vulnIds] of Object.entries(report.package_vulnerabilities)) {
    const pkg = report.packages[pkgId];
    const env = report.environments[pkgId]?.[0];
    const dist = env?.distribution_id ? report.distributions[env.distribution_id] : undefined;
    const ecosystem = dist?.did && dist.version_id ? OSV_DISTROS[dist.did]?.(dist.version_id) ?? `${dist.did}:${dist.version_id}` : dist?.did;
    for (const vulnId of vulnIds ?? []) {
      const v = report.vulnerabilities[vulnId];
      if (!v) continue;
      const p = partsFor(vulnId, v);
      const name = pkg?.name ?? v.package?.name;
      const version = pkg?.version ?? v.package?.version;
      findings.push({
        id: p.id,
        aliases: p.aliases,
        kind: 'vulnerability',
        ...(name ? { package: name } : {}),
        ...(ecosystem ? { ecosystem } : {}),
        ...(version ? { installedVersion: version } : {}),
        ...(p.fixedVersion ? { fixedVersion: p.fixedVersion } : {}),
        severity: p.severity,
        ...(p.cvss ? { cvss: p.cvss } : {}),
        title: p.title,
        links: p.links,
        ...(env?.introduced_in ? { layer: env.introduced_in } : {}),
        ...(env?.package_db ? { path: env.package_db } : {}),
      });
    }
  }
  return findings;
}
