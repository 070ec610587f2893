/**
 * Harbor vulnerability report (v1.1 report media type) → normalized findings. Severity is
 * the adapter's (Negligible counts as low); an Unknown with a CVSS score takes the score's
 * band. CVSS comes from `preferred_cvss` (v3 vector scored by cvss.ts, else the v2 vector
 * with the adapter's score), else from `vendor_attributes.CVSS.<source>` as the Trivy
 * adapter sends it (`V3Vector`, `V3Score`), preferring NVD.
 */
import { z } from 'zod';
import { parseCvss, severityFromScore } from '../cvss';
import { severityFromLabel } from '../severity-labels';
import type { Cvss, Finding } from '../types';
import type { HarborVulnerabilityReport, VulnerabilityItem } from './api';

const vendorCvssSchema = z.record(z.string(), z.looseObject({
  V3Vector: z.string().optional(),
  V3Score: z.number().optional(),
}));

function v3(vector: string | null | undefined, score: number | null | undefined): Cvss | undefined {
  const parsed = vector ? parseCvss(vector) : null;
  if (!parsed) return undefined;
  return { ...parsed, score: parsed.score ?? (typeof score === 'number' ? score : null) };
}

function clampScore(score: number | null | undefined): number | null {
  return typeof score === 'number' && score >= 0 && score <= 10 ? score : null;
}

function cvssOf(v: VulnerabilityItem): Cvss | undefined {
  const p = v.preferred_cvss;
  const preferred = v3(p?.vector_v3, p?.score_v3);
  if (preferred) return preferred;
  const vendor = vendorCvssSchema.safeParse((v.vendor_attributes as { CVSS?: unknown } | null | undefined)?.CVSS);
  if (vendor.success) {
    const sources = Object.keys(vendor.data).sort((a, b) => Number(b === 'nvd') - Number(a === 'nvd'));
    for (const s of sources) {
      const c = v3(vendor.data[s].V3Vector, vendor.data[s].V3Score);
      if (c) return c;
    }
  }
  // CVSS v2 is not scored locally: keep the adapter's score with the vector.
  if (p?.vector_v2) return { version: '2.0', vector: p.vector_v2, score: clampScore(p.score_v2) };
  return undefined;
}

function titleOf(v: VulnerabilityItem): string {
  const line = (v.description ?? '').trim().split('\n')[0].trim();
  const title = line || v.id;
  return title.length > 200 ? `${title.slice(0, 197)}...` : title;
}

export function normalizeHarborReport(report: HarborVulnerabilityReport): Finding[] {
  return (report.vulnerabilities ?? []).map((v): Finding => {
    const cvss = cvssOf(v);
    let severity = severityFromLabel(v.severity);
    if (severity === 'unknown' && cvss?.score != null) severity = severityFromScore(cvss.score);
    return {
      id: v.id,
      aliases: [],
      kind: 'vulnerability',
      ...(v.package ? { package: v.package } : {}),
      ...(v.version ? { installedVersion: v.version } : {}),
      ...(v.fix_version ? { fixedVersion: v.fix_version } : {}),
      severity,
      ...(cvss ? { cvss } : {}),
      title: titleOf(v),
      links: (v.links ?? []).filter((l) => /^https?:\/\//i.test(l)),
      ...(v.layer?.digest ? { layer: v.layer.digest } : {}),
    };
  });
}
