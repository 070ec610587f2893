/**
 * The gate's decision as a pure function of findings, code-scan evidence, waivers and
 * configuration: no I/O, no clock (`now` is passed in), so it is table-tested and gives the
 * same answer when re-run at approval time with the waivers granted since.
 *
 * A finding blocks when it is not covered by an active allowlist entry or waiver and:
 * - a vulnerability: its severity is in `failOn` and, with `onlyFixable`, it has a fixed version;
 * - a code finding (SARIF): its severity is in `failOn` (no fixed version exists for code);
 * - a misconfiguration: `misconfigurations` is `block` (with `warn` it is listed in `warnings`);
 * - a coverage finding (the scanner could not check something): `coverage` is `block` (the
 *   default: fail closed), else it is listed in `warnings`. Severity and fixability do not
 *   apply: an unscanned OS has neither. One exception: with `unscoredSeverity` set to a
 *   severity, an unscored advisory's coverage finding is judged as a vulnerability of that
 *   severity (`failOn`, `onlyFixable`).
 * Missing required code-scan evidence fails the verdict too and cannot be waived.
 * The caller applies `config.onFail` (reject or flag) to a failing verdict.
 */
import type { Finding } from '../scanners/types';
import type { AllowlistEntry, PolicyConfig } from './config';

/** An approver's acceptance of one finding on one request. */
export interface Waiver {
  /** Finding id or alias it covers. */
  findingId: string;
  reason: string;
  /** ISO 8601; an expired waiver is ignored. */
  expires: string;
  /** Who granted it. */
  by: string;
}

/** SARIF evidence attached to the request, one entry per tool run. */
export interface CodeScanEvidence {
  tool: string;
  findings: Finding[];
}

export interface PolicyInput {
  findings: readonly Finding[];
  codeScans: readonly CodeScanEvidence[];
  waivers: readonly Waiver[];
  config: PolicyConfig;
  /** The requesting team. */
  team: string;
  /** The image: its repository as users name it (`docker.io/library/nginx`) and digest. */
  image: { repository: string; digest: string };
  now: Date;
}

export interface PolicyResult {
  verdict: 'pass' | 'fail';
  /**
   * Why the verdict is `fail`, one line each, then its `warnings` prefixed `warning: ` (so a
   * failing verdict keeps them); empty on `pass`.
   */
  reasons: string[];
  /** Findings that fail the image and are not waived or allowlisted. */
  blocking: Finding[];
  /** Non-blocking observations (misconfigurations and coverage findings under `warn`). */
  warnings: string[];
}

const MAX_REASONS = 25;
/** The id prefix of an unscored advisory's coverage finding (scanners/coverage.ts, UNSCORED_SEVERITY). */
const UNSCORED_PREFIX = 'PORTCULLIS-UNSCORED-SEVERITY:';

const active = (expires: string, now: Date): boolean => Date.parse(expires) > now.getTime();
const names = (f: Finding): string[] => [f.id, ...f.aliases];

function imageMatches(pattern: string, image: PolicyInput['image']): boolean {
  if (pattern.startsWith('sha256:')) return pattern === image.digest;
  if (pattern.endsWith('*')) return image.repository.startsWith(pattern.slice(0, -1));
  return pattern === image.repository;
}

function allowlistApplies(e: AllowlistEntry, input: PolicyInput): boolean {
  return (
    active(e.expires, input.now) &&
    (!e.teams || e.teams.includes(input.team)) &&
    (!e.images || e.images.some((p) => imageMatches(p, input.image)))
  );
}

function describe(f: Finding): string {
  const where = f.package ? ` in ${f.package}${f.installedVersion ? ` ${f.installedVersion}` : ''}` : f.path ? ` at ${f.path}` : '';
  const fix = f.fixedVersion ? ` (fixed in ${f.fixedVersion})` : '';
  return `${f.severity} ${f.kind} ${f.id}${where}${fix}: ${f.title}`;
}

function codeScanRequired(config: PolicyConfig, team: string): boolean {
  return Array.isArray(config.requireCodeScan) ? config.requireCodeScan.includes(team) : config.requireCodeScan;
}

export function evaluate(input: PolicyInput): PolicyResult {
  const { config, now } = input;
  const accepted = new Set<string>([
    ...config.allowlist.filter((e) => allowlistApplies(e, input)).map((e) => e.id),
    ...input.waivers.filter((w) => active(w.expires, now)).map((w) => w.findingId),
  ]);
  const failOn = new Set(config.failOn);
  const blocking: Finding[] = [];
  const warnings: string[] = [];
  const all = [...input.findings, ...input.codeScans.flatMap((s) => s.findings)];
  for (const f of all) {
    if (names(f).some((n) => accepted.has(n))) continue;
    if (f.kind === 'misconfiguration') {
      if (config.misconfigurations === 'block') blocking.push(f);
      else warnings.push(describe(f));
    } else if (f.kind === 'coverage' && config.unscoredSeverity !== 'coverage' && f.id.startsWith(UNSCORED_PREFIX)) {
      if (failOn.has(config.unscoredSeverity) && (!config.onlyFixable || f.fixedVersion !== undefined)) blocking.push(f);
    } else if (f.kind === 'coverage') {
      if (config.coverage === 'block') blocking.push(f);
      else warnings.push(describe(f));
    } else if (failOn.has(f.severity) && (f.kind === 'code' || !config.onlyFixable || f.fixedVersion !== undefined)) {
      blocking.push(f);
    }
  }
  // The same finding seen twice (two runs or two logs that report one problem) is one reason.
  const lines = [...new Set(blocking.map(describe))];
  const reasons = lines.slice(0, MAX_REASONS);
  if (lines.length > MAX_REASONS) reasons.push(`... and ${lines.length - MAX_REASONS} more blocking findings`);
  if (codeScanRequired(config, input.team) && input.codeScans.length === 0) {
    reasons.unshift(`code-scan evidence (SARIF) is required for team ${input.team} and none was submitted`);
  }
  const notes = [...new Set(warnings)];
  // A failing verdict still shows what would only have warned (e.g. "runs as root"): the
  // approver who waives the blocking findings must not lose sight of it (issue 11.11).
  if (reasons.length > 0) reasons.push(...notes.map((w) => `warning: ${w}`));
  return { verdict: reasons.length > 0 ? 'fail' : 'pass', reasons, blocking, warnings: notes };
}
