/**
 * Turns a SARIF 2.1.0 log into code-scan evidence: one {@link CodeScan} per run (per tool),
 * each result a finding of kind `code`.
 *
 * Severity: the `security-severity` property (a CVSS-like number, as GitHub code scanning
 * defines it) of the result, else of its rule, banded like CVSS (≥9 critical, ≥7 high, ≥4
 * medium, else low). Without it, from the result's `level`:
 *
 * | level | severity |
 * | --- | --- |
 * | error | high |
 * | warning | medium |
 * | note | low |
 * | none | unknown |
 *
 * An absent `level` is the rule's `defaultConfiguration.level`, else `warning` (§3.27.10).
 * Results whose `kind` is `pass`, `notApplicable` or `informational` are not problems and
 * are dropped; `open` and `review` are kept (the tool could not decide).
 */
import { AppError } from '../../lib/errors';
import { severityFromScore } from '../cvss';
import type { Finding, Severity } from '../types';
import { DEFAULT_CODE_SCAN_LIMITS } from './config';
import { jsonPath, locateSyntaxError } from './json-syntax';
import { checkSarifLimits, type SarifLogLimits } from './limits';
import { sarifLogSchema, type SarifResult, type SarifRule, type SarifRun } from './schema';

export { jsonPath } from './json-syntax';

export interface CodeScan {
  /** `runs[].tool.driver.name`, e.g. `CodeQL`, `Black Duck`. */
  tool: string;
  toolVersion?: string;
  findings: Finding[];
}

const LEVEL_SEVERITY: Record<string, Severity> = { error: 'high', warning: 'medium', note: 'low', none: 'unknown' };
const NOT_PROBLEMS = new Set(['pass', 'notApplicable', 'informational']);

function securitySeverity(props: Record<string, unknown> | undefined): Severity | null {
  const raw = props?.['security-severity'];
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 && n <= 10 ? severityFromScore(n) : null;
}

function ruleOf(run: SarifRun, r: SarifResult): SarifRule | undefined {
  const rules = run.tool.driver.rules ?? [];
  const index = r.ruleIndex ?? r.rule?.index ?? -1;
  if (index >= 0 && rules[index]) return rules[index];
  const id = r.ruleId ?? r.rule?.id;
  return id === undefined ? undefined : rules.find((rule) => rule.id === id);
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 3)}...` : s;
}

/**
 * Only http(s) URLs become links: a help URI of `javascript:` would be script in any page that
 * shows it, and one that is not a URL (real CodeQL logs carry "not a valid URI") links nowhere.
 * The original log keeps it either way.
 */
function webLink(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

function toFinding(run: SarifRun, r: SarifResult, i: number): Finding | null {
  if (r.kind && NOT_PROBLEMS.has(r.kind)) return null;
  const rule = ruleOf(run, r);
  const id = r.ruleId ?? r.rule?.id ?? rule?.id ?? `${run.tool.driver.name}:result-${i}`;
  const level = r.level ?? rule?.defaultConfiguration?.level ?? 'warning';
  const severity = securitySeverity(r.properties) ?? securitySeverity(rule?.properties) ?? LEVEL_SEVERITY[level] ?? 'unknown';
  const loc = r.locations?.[0]?.physicalLocation;
  const uri = loc?.artifactLocation?.uri;
  const line = loc?.region?.startLine;
  const title = r.message.text ?? rule?.shortDescription?.text ?? rule?.name ?? id;
  return {
    id,
    aliases: [],
    kind: 'code',
    severity,
    title: clip(title.trim(), 300),
    links: rule?.helpUri && webLink(rule.helpUri) ? [rule.helpUri] : [],
    ...(uri ? { path: line ? `${uri}:${line}` : uri } : {}),
  };
}

/**
 * Validates a parsed SARIF log: its bounds first (413 `CODE_SCAN_TOO_LARGE`, cheap, before
 * anything is built from it), then its structure (400 `INVALID_SARIF` naming the JSON path of
 * the first problem, `details.paths` the first ten).
 */
export function parseSarif(json: unknown, limits: SarifLogLimits = DEFAULT_CODE_SCAN_LIMITS): CodeScan[] {
  checkSarifLimits(json, limits);
  const parsed = sarifLogSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const where = issues[0] ? jsonPath(issues[0].path) : '$';
    throw new AppError('INVALID_SARIF', `invalid SARIF 2.1.0 log at ${where}: ${issues[0]?.message ?? 'invalid'}`, {
      details: { path: where, paths: [...new Set(issues.slice(0, 10).map((i) => jsonPath(i.path)))] },
    });
  }
  return parsed.data.runs.map((run) => ({
    tool: run.tool.driver.name,
    ...(run.tool.driver.version ?? run.tool.driver.semanticVersion
      ? { toolVersion: run.tool.driver.version ?? run.tool.driver.semanticVersion }
      : {}),
    findings: (run.results ?? []).map((r, i) => toFinding(run, r, i)).filter((f): f is Finding => f !== null),
  }));
}

/** The 400 for a log that is not JSON: where it breaks (JSON path, line, column) and why. */
export function notJson(text: string): AppError {
  const at = locateSyntaxError(text);
  const where = at ? ` at ${at.path} (line ${at.line}, column ${at.column}): ${at.problem}` : '';
  return new AppError('INVALID_SARIF', `SARIF log is not JSON${where}`, {
    details: at ? { path: at.path, line: at.line, column: at.column, ...(at.maxDepth ? { maxDepth: at.maxDepth } : {}) } : { path: '$' },
  });
}

/** Parses SARIF text (JSON syntax errors are `INVALID_SARIF` too, with their place). */
export function parseSarifText(text: string, limits: SarifLogLimits = DEFAULT_CODE_SCAN_LIMITS): CodeScan[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw notJson(text);
  }
  return parseSarif(json, limits);
}
