/**
 * An advisory's severity: computed from its CVSS vectors (v2, v3.x, v4.0) when it has any
 * (the most severe band among them, each in its own version's bands), else the database's
 * own label (`database_specific.severity`, e.g. GitHub's), else an Ubuntu priority, else
 * `unknown` (which the scanner then reports as a coverage finding).
 */
import { parseCvss, severityOfCvss } from '../cvss';
import { severityFromLabel } from '../severity-labels';
import { SEVERITIES, type Cvss, type Severity } from '../types';
import type { OsvSeverity } from './schema';

export interface AdvisorySeverity {
  severity: Severity;
  cvss?: Cvss;
}

const CVSS_TYPES = new Set(['CVSS_V2', 'CVSS_V3', 'CVSS_V4']);
/** Lower is more severe: the index in SEVERITIES (critical first). */
const rank = (s: Severity): number => SEVERITIES.indexOf(s);

export function advisorySeverity(
  entries: readonly OsvSeverity[] | undefined,
  ...databaseSpecific: Array<Record<string, unknown> | undefined>
): AdvisorySeverity {
  const vectors = (entries ?? [])
    .filter((e) => CVSS_TYPES.has(e.type))
    .map((e) => parseCvss(e.score))
    .filter((c): c is Cvss => c !== null);
  let best: { severity: Severity; cvss: Cvss } | undefined;
  for (const cvss of vectors) {
    const severity = severityOfCvss(cvss);
    if (severity === null) continue;
    if (!best || rank(severity) < rank(best.severity) || (severity === best.severity && (cvss.score ?? 0) > (best.cvss.score ?? 0))) {
      best = { severity, cvss };
    }
  }
  if (best) return best;
  for (const ds of databaseSpecific) {
    const label = severityFromLabel(ds?.severity);
    if (label !== 'unknown') return { severity: label };
  }
  const ubuntu = (entries ?? []).find((e) => e.type === 'Ubuntu');
  return { severity: severityFromLabel(ubuntu?.score) };
}
