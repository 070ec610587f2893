/**
 * CVSS base scores from vector strings, v2.0, v3.0, v3.1 and v4.0.
 *
 * Scoring is done by `ae-cvss-calculator` (maintained, implements FIRST's four
 * specifications including v4.0's macro-vector lookup table, which is too large and too
 * error-prone to keep by hand). That library accepts partial vectors and scores the missing
 * metrics as "not defined", so this module first checks that every base metric is present
 * once with an allowed value: a truncated vector is refused (null), never scored low.
 */
import { Cvss2, Cvss3P0, Cvss3P1, Cvss4P0 } from 'ae-cvss-calculator';
import type { Cvss, Severity } from './types';

const V2_BASE: Record<string, readonly string[]> = {
  AV: ['L', 'A', 'N'],
  AC: ['H', 'M', 'L'],
  Au: ['M', 'S', 'N'],
  C: ['N', 'P', 'C'],
  I: ['N', 'P', 'C'],
  A: ['N', 'P', 'C'],
};

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

/** Splits `AV:N/AC:L/…` into metrics; null on a duplicate or malformed metric. */
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

/** The base vector alone, in the specification's order, for the calculator. */
function baseVector(prefix: string, metrics: Map<string, string>, base: Record<string, readonly string[]>): string {
  const parts = Object.keys(base).map((k) => `${k}:${metrics.get(k)}`);
  return prefix ? `${prefix}/${parts.join('/')}` : parts.join('/');
}

function baseScore(version: string, vector: string): number | null {
  try {
    const calc =
      version === '2.0' ? new Cvss2(vector) : version === '3.0' ? new Cvss3P0(vector) : version === '3.1' ? new Cvss3P1(vector) : new Cvss4P0(vector);
    const score = calc.calculateScores().base;
    return typeof score === 'number' && score >= 0 && score <= 10 ? score : null;
  } catch {
    return null;
  }
}

/**
 * Parses and scores a CVSS vector: `CVSS:3.0/…`, `CVSS:3.1/…`, `CVSS:4.0/…`, or a v2 vector
 * (bare `AV:N/AC:L/Au:N/…`, also in parentheses or with a `CVSS:2.0/` prefix as some feeds
 * write it). Returns null when it is not a valid vector (every base metric present once,
 * each with an allowed value). Temporal, threat and environmental metrics may follow; only
 * the base score is computed.
 */
export function parseCvss(vector: string): Cvss | null {
  const trimmed = vector.trim().replace(/^\((.*)\)$/, '$1');
  const parts = trimmed.split('/');
  const prefix = /^CVSS:(2\.0|3\.0|3\.1|4\.0)$/.exec(parts[0] ?? '');
  const version = prefix ? prefix[1]! : '2.0';
  const metrics = parseMetrics(prefix ? parts.slice(1) : parts);
  if (!metrics) return null;
  const base = version === '2.0' ? V2_BASE : version === '4.0' ? V4_BASE : V3_BASE;
  if (!hasBase(metrics, base)) return null;
  const allowed = new Set(Object.keys(base));
  // v2 and v3 share metric names (AV, AC, C, I, A): a v3 vector without its prefix must not
  // pass as v2 because its extra metrics were ignored.
  if (version === '2.0' && [...metrics.keys()].some((k) => !allowed.has(k) && !V2_OPTIONAL.has(k))) return null;
  const score = baseScore(version, baseVector(version === '2.0' ? '' : `CVSS:${version}`, metrics, base));
  if (score === null) return null;
  return { version, vector: trimmed, score };
}

/** v2 temporal and environmental metrics (CVSS v2 guide §2.2–2.3). */
const V2_OPTIONAL = new Set(['E', 'RL', 'RC', 'CDP', 'TD', 'CR', 'IR', 'AR']);

/**
 * Qualitative severity of a score (CVSS v3.1 §5, also used for v4.0): 9.0–10.0 critical,
 * 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low. A score of 0.0 ("None") has no band in
 * Portcullis' scale and maps to `low`, the least that still shows the finding.
 */
export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  return 'low';
}

/**
 * Severity of a scored vector in its own version's bands: CVSS v2 has no critical band
 * (NVD: 0–3.9 low, 4.0–6.9 medium, 7.0–10.0 high); v3.x and v4.0 use {@link severityFromScore}.
 */
export function severityOfCvss(cvss: Cvss): Severity | null {
  if (cvss.score === null) return null;
  if (cvss.version === '2.0') return cvss.score >= 7 ? 'high' : cvss.score >= 4 ? 'medium' : 'low';
  return severityFromScore(cvss.score);
}
