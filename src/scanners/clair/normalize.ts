/**
 * Clair VulnerabilityReport → normalized findings: one finding per (package, vulnerability)
 * pair of `package_vulnerabilities`. Severity is Clair's `normalized_severity` (Negligible
 * counts as low); when Clair says Unknown but its CVSS enrichment has a score, the score's
 * band is used instead, since an unscored critical must not pass as unknown.
 */
import { parseCvss, severityFromScore } from '../cvss';
import { severityFromLabel } from '../severity-labels';
import type { Cvss, Finding } from '../types';
import { CVSS_ENRICHER_MARKER, cvssEnrichmentSchema, type ClairVulnerability, type VulnerabilityReport } from './api';

/** OSV-style ecosystem names for the distributions Portcullis' builtin scanner also names. */
const OSV_DISTROS: Record<string, (versionId: string) => string> = {
  debian: (v) => `Debian:${v.split('.')[0]}`,
  ubuntu: (v) => `Ubuntu:${v}`,
  alpine: (v) => `Alpine:v${v.split('.').slice(0, 2).join('.')}`,
};

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

/**
 * `CVE-2021-1234` from names such as `CVE-2021-1234`, `RHSA-2021:1024: openssl security update`.
 * Red Hat's per-CVE records are named by a sentence (`libssh: Missing checks for return
 * values for digests (low)`) and link the one CVE they are about: that CVE is the id, so a
 * waiver or an allowlist entry can name it; the sentence stays the title.
 */
function advisoryId(v: ClairVulnerability): string {
  const first = v.name.trim().split(/\s+/)[0].replace(/:$/, '');
  if (ADVISORY_ID.test(first)) return first;
  // An updater's own id (`pyup.io-39606 (CVE-2020-36242)`) stays the id: two such records
  // about one CVE are two pairs, which a CVE id would merge into one.
  if (/\d/.test(first)) return v.name.trim();
  const cves = new Set([...`${v.name} ${v.links ?? ''}`.matchAll(/CVE-\d{4}-\d{4,}/gi)].map((m) => m[0].toUpperCase()));
  return cves.size === 1 ? [...cves][0]! : v.name.trim();
}

function aliasesOf(v: ClairVulnerability, id: string): string[] {
  const found = new Set<string>();
  for (const m of `${v.name} ${v.links ?? ''}`.matchAll(/CVE-\d{4}-\d{4,}/gi)) found.add(m[0].toUpperCase());
  found.delete(id.toUpperCase());
  return [...found].sort();
}

function titleOf(v: ClairVulnerability, id: string): string {
  const line = (v.description ?? '').trim().split('\n')[0].trim() || (v.name.trim().startsWith(id) ? '' : v.name.trim());
  const title = line || (v.name.trim() !== id ? v.name.trim() : id);
  return title.length > 200 ? `${title.slice(0, 197)}...` : title;
}

function linksOf(v: ClairVulnerability): string[] {
  return (v.links ?? '').split(/\s+/).filter((l) => /^https?:\/\//i.test(l));
}

export function normalizeClairReport(report: VulnerabilityReport): Finding[] {
  const cvssMap = cvssByVulnerability(report);
  const findings: Finding[] = [];
  for (const [pkgId, vulnIds] of Object.entries(report.package_vulnerabilities)) {
    const pkg = report.packages[pkgId];
    const env = report.environments[pkgId]?.[0];
    const dist = env?.distribution_id ? report.distributions[env.distribution_id] : undefined;
    const ecosystem = dist?.did && dist.version_id ? OSV_DISTROS[dist.did]?.(dist.version_id) ?? `${dist.did}:${dist.version_id}` : dist?.did;
    for (const vulnId of vulnIds ?? []) {
      const v = report.vulnerabilities[vulnId];
      if (!v) continue;
      const id = advisoryId(v);
      const cvss = cvssMap.get(vulnId);
      let severity = severityFromLabel(v.normalized_severity);
      if (severity === 'unknown' && cvss?.score != null) severity = severityFromScore(cvss.score);
      const name = pkg?.name ?? v.package?.name;
      const version = pkg?.version ?? v.package?.version;
      findings.push({
        id,
        aliases: aliasesOf(v, id),
        kind: 'vulnerability',
        ...(name ? { package: name } : {}),
        ...(ecosystem ? { ecosystem } : {}),
        ...(version ? { installedVersion: version } : {}),
        ...(v.fixed_in_version ? { fixedVersion: v.fixed_in_version } : {}),
        severity,
        ...(cvss ? { cvss } : {}),
        title: titleOf(v, id),
        links: linksOf(v),
        ...(env?.introduced_in ? { layer: env.introduced_in } : {}),
        ...(env?.package_db ? { path: env.package_db } : {}),
      });
    }
  }
  return findings;
}
