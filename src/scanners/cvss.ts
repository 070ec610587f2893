/**
 * CVSS base scores from vector strings.
 *
 * v3.0 and v3.1 are computed with the formulas of FIRST's specification (§7.1, weights in
 * §7.4); v3.1 uses its floating-point-safe Roundup (Appendix A), v3.0 the plain ceiling to
 * one decimal it defined. CVSS v4.0 scores come from a 270-entry macro-vector lookup table
 * plus interpolation; rather than ship a partial copy of that table, a v4 vector is
 * recognised and validated but left unscored (`score: null`), and callers fall back to the
 * advisory's own severity label, else `unknown`.
 */
import type { Cvss, Severity } from './types';

const AV = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as const;
const AC = { L: 0.77, H: 0.44 } as const;
const PR_UNCHANGED = { N: 0.85, L: 0.62, H: 0.27 } as const;
const PR_CHANGED = { N: 0.85, L: 0.68, H: 0.5 } as const;
const UI = { N: 0.85, R: 0.62 } as const;
const CIA = { H: 0.56, L: 0.22, N: 0 } as const;

const V3_BASE: Record<string, readonly string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'R'],
  S: ['U', 'C'],
  C: ['H', 'L', 'N'],
  I: ['H', 'L', 'N'],
  A: ['H', 'L', 'N'],
};

const V4_BASE: Record<string, readonly string[]> = {
  AV: ['N', 'A', 'L', 'P'],
  AC: ['L', 'H'],
  AT: ['N', 'P'],
  PR: ['N', 'L', 'H'],
  UI: ['N', 'P', 'A'],
  VC: ['H', 'L', 'N'],
  VI: ['H', 'L', 'N'],
  VA: ['H', 'L', 'N'],
  SC: ['H', 'L', 'N'],
  SI: ['H', 'L', 'N'],
  SA: ['H', 'L', 'N'],
};

/** CVSS v3.1 Roundup: the smallest one-decimal number ≥ x, immune to float noise. */
export function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** Splits `CVSS:3.1/AV:N/…` into metrics; null on a duplicate or malformed metric. */
function parseMetrics(parts: string[]): Map<string, string> | null {
  const metrics = new Map<string, string>();
  for (const part of parts) {
    const [key, value, extra] = part.split(':');
    if (!key || !value || extra !== undefined || metrics.has(key)) return null;
    metrics.set(key, value);
  }
  return metrics;
}

function hasBase(metrics: Map<string, string>, base: Record<string, readonly string[]>): boolean {
  return Object.entries(base).every(([k, allowed]) => allowed.includes(metrics.get(k) ?? ''));
}

function scoreV3(m: Map<string, string>, version: string): number {
  const get = <T extends Record<string, number>>(table: T, key: string): number => table[m.get(key) as keyof T] as number;
  const changed = m.get('S') === 'C';
  const iss = 1 - (1 - get(CIA, 'C')) * (1 - get(CIA, 'I')) * (1 - get(CIA, 'A'));
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability =
    8.22 * get(AV, 'AV') * get(AC, 'AC') * get(changed ? PR_CHANGED : PR_UNCHANGED, 'PR') * get(UI, 'UI');
  if (impact <= 0) return 0;
  const raw = Math.min((changed ? 1.08 : 1) * (impact + exploitability), 10);
  return version === '3.0' ? Math.ceil(raw * 10 - 1e-9) / 10 : roundup31(raw);
}

/**
 * Parses and scores a CVSS vector. Returns null when the string is not a valid v3.x or v4.0
 * vector (all base metrics present once, each with an allowed value); temporal and
 * environmental metrics may follow and do not change the base score.
 */
export function parseCvss(vector: string): Cvss | null {
  const parts = vector.trim().split('/');
  const prefix = /^CVSS:(3\.0|3\.1|4\.0)$/.exec(parts[0] ?? '');
  if (!prefix) return null;
  const version = prefix[1]!;
  const metrics = parseMetrics(parts.slice(1));
  if (!metrics) return null;
  if (version === '4.0') return hasBase(metrics, V4_BASE) ? { version, vector: vector.trim(), score: null } : null;
  if (!hasBase(metrics, V3_BASE)) return null;
  return { version, vector: vector.trim(), score: scoreV3(metrics, version) };
}

/**
 * Qualitative severity of a score (CVSS v3.1 §5): 9.0–10.0 critical, 7.0–8.9 high,
 * 4.0–6.9 medium, 0.1–3.9 low. A score of 0.0 ("None") has no band in Portcullis' scale and
 * maps to `low`, the least that still shows the finding.
 */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}
