/**
 * Bounds on a SARIF log, checked before its structure (zod) and before anything is stored:
 * a hostile log (a 19 MB tool name, 150,000 rule ids) is refused in one cheap walk, with 413
 * `CODE_SCAN_TOO_LARGE` naming the `codeScans.*` key, its bound, the size found and the JSON
 * path. Nothing is truncated: what is stored is what was sent, or nothing.
 *
 * The walk only looks at the fields Portcullis reads and keeps (see schema.ts); a value of the
 * wrong type is skipped here and refused by the schema afterwards, with its path.
 */
import { AppError } from '../../lib/errors';
import type { CodeScanLimits } from './config';

export type SarifLogLimits = Pick<CodeScanLimits,
  'maxRunsPerUpload' | 'maxResultsPerRun' | 'maxRulesPerRun' | 'maxNameLength' | 'maxMessageLength' | 'maxUriLength'>;

type Key = keyof CodeScanLimits;

/** The 413 for one bound: which key, its value, what was found, and where. */
export function overLimit(key: Key, max: number, actual: number, what: string, path?: string): AppError {
  return new AppError('CODE_SCAN_TOO_LARGE',
    `${what}${path ? ` at ${path}` : ''} is ${actual}, over codeScans.${key} (${max})`,
    { details: { limit: `codeScans.${key}`, max, actual, ...(path ? { path } : {}) } });
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);

function checkString(v: unknown, key: Key, max: number, what: string, path: string): void {
  if (typeof v === 'string' && v.length > max) throw overLimit(key, max, v.length, `length of the ${what}`, path);
}

function checkCount(list: unknown[] | undefined, key: Key, max: number, what: string, path: string): void {
  if (list && list.length > max) throw overLimit(key, max, list.length, what, path);
}

function checkRule(rule: unknown, path: string, l: SarifLogLimits): void {
  const r = obj(rule);
  if (!r) return;
  checkString(r.id, 'maxNameLength', l.maxNameLength, 'rule id', `${path}.id`);
  checkString(r.name, 'maxNameLength', l.maxNameLength, 'rule name', `${path}.name`);
  checkString(obj(r.shortDescription)?.text, 'maxMessageLength', l.maxMessageLength, 'rule description', `${path}.shortDescription.text`);
  checkString(obj(r.fullDescription)?.text, 'maxMessageLength', l.maxMessageLength, 'rule description', `${path}.fullDescription.text`);
  checkString(r.helpUri, 'maxUriLength', l.maxUriLength, 'help URI', `${path}.helpUri`);
}

function checkResult(result: unknown, path: string, l: SarifLogLimits, ruleIds: Set<string>, runPath: string): void {
  const r = obj(result);
  if (!r) return;
  for (const [v, p] of [[r.ruleId, 'ruleId'], [obj(r.rule)?.id, 'rule.id']] as const) {
    checkString(v, 'maxNameLength', l.maxNameLength, 'rule id', `${path}.${p}`);
    if (typeof v === 'string' && !ruleIds.has(v)) {
      ruleIds.add(v);
      if (ruleIds.size > l.maxRulesPerRun) throw overLimit('maxRulesPerRun', l.maxRulesPerRun, ruleIds.size, 'distinct rule ids among the results', `${runPath}.results`);
    }
  }
  checkString(obj(r.message)?.text, 'maxMessageLength', l.maxMessageLength, 'message', `${path}.message.text`);
  checkString(obj(r.message)?.markdown, 'maxMessageLength', l.maxMessageLength, 'message', `${path}.message.markdown`);
  arr(r.locations)?.forEach((loc, i) => {
    const uri = obj(obj(obj(loc)?.physicalLocation)?.artifactLocation)?.uri;
    checkString(uri, 'maxUriLength', l.maxUriLength, 'location URI', `${path}.locations[${i}].physicalLocation.artifactLocation.uri`);
  });
}

/** Throws `CODE_SCAN_TOO_LARGE` at the first bound the log is over. */
export function checkSarifLimits(json: unknown, l: SarifLogLimits): void {
  const runs = arr(obj(json)?.runs);
  checkCount(runs, 'maxRunsPerUpload', l.maxRunsPerUpload, 'runs in the log', 'runs');
  runs?.forEach((run, i) => {
    const path = `runs[${i}]`;
    const driver = obj(obj(obj(run)?.tool)?.driver);
    checkString(driver?.name, 'maxNameLength', l.maxNameLength, 'tool name', `${path}.tool.driver.name`);
    checkString(driver?.version, 'maxNameLength', l.maxNameLength, 'tool version', `${path}.tool.driver.version`);
    checkString(driver?.semanticVersion, 'maxNameLength', l.maxNameLength, 'tool version', `${path}.tool.driver.semanticVersion`);
    const rules = arr(driver?.rules);
    checkCount(rules, 'maxRulesPerRun', l.maxRulesPerRun, 'rules of the run', `${path}.tool.driver.rules`);
    rules?.forEach((rule, j) => checkRule(rule, `${path}.tool.driver.rules[${j}]`, l));
    const results = arr(obj(run)?.results);
    checkCount(results, 'maxResultsPerRun', l.maxResultsPerRun, 'results of the run', `${path}.results`);
    const ruleIds = new Set<string>();
    results?.forEach((result, j) => checkResult(result, `${path}.results[${j}]`, l, ruleIds, path));
  });
}
