/**
 * An advisory's severity: computed from its CVSS v3 vector when it has one (the highest
 * scored if several), else its CVSS v4 vector's band cannot be computed here and the
 * database's own label is used (`database_specific.severity`, e.g. GitHub's), else an
 * Ubuntu priority, else `unknown`.
 */
import { parseCvss, severityFromScore } from '../cvss';
import { severityFromLabel } from '../severity-labels';
import type { Cvss, Severity } from '../types';
import type { OsvSeverity } from './schema';

export interface AdvisorySeverity {
  severity: Severity;
  cvss?: Cvss;
}

export function advisorySeverity(
  entries: readonly OsvSeverity[] | undefined,
  ...databaseSpecific: Array<Record<string, unknown> | undefined>
): AdvisorySeverity {
  const vectors = (entries ?? [])
    .filter((e) => e.type === 'CVSS_V3' || e.type === 'CVSS_V4')
    .map((e) => parseCvss(e.score))
    .filter((c): c is Cvss => c !== null);
  const scored = vectors.filter((c) => c.score !== null).sort((a, b) => (b.score ?? 0) - (a.score ?? 0));
  if (scored[0]) return { severity: severityFromScore(scored[0].score ?? 0), cvss: scored[0] };
  const cvss = vectors[0];
  for (const ds of databaseSpecific) {
    const label = severityFromLabel(ds?.severity);
    if (label !== 'unknown') return { severity: label, cvss };
  }
  const ubuntu = (entries ?? []).find((e) => e.type === 'Ubuntu');
  return { severity: severityFromLabel(ubuntu?.score), cvss };
}
