/**
 * The pipeline's PolicyEvaluator over the policy module's pure `evaluate`: findings of every
 * report, the request's code scans and waivers, and the configured policy. It is pure apart
 * from the clock, so the same function gives the verdict at scan time, when a waiver is
 * granted, and again at approval time (when a waiver may have expired). Fail closed: a
 * scanner whose scan failed fails the verdict, and no waiver can cover that. With no
 * scanners configured the verdict is `warn`, so approvers see that nothing was scanned.
 */
import { evaluate, type CodeScanEvidence, type PolicyConfig } from '../policy';
import type { Finding } from '../scanners/types';
import { requestDigest, type IntakeRequest, type PolicyOutcome } from '../store/types';
import { sourceName } from './paths';
import type { PolicyEvaluator } from './ports';

/** The request's code-scan findings, per run (grouped runs keep one finding per rule and severity, which is what policy looks at). */
export function codeScanEvidence(request: IntakeRequest): CodeScanEvidence[] {
  return request.codeScans.map((c) => ({ tool: c.tool, findings: c.findings }));
}

/** Every finding of the request (image scans and code scans), for looking up what a waiver names. */
export function requestFindings(request: IntakeRequest): Finding[] {
  return [...request.scans.flatMap((s) => s.findings), ...codeScanEvidence(request).flatMap((c) => c.findings)];
}

/** Whether two verdicts say the same (so an unchanged one is not saved again). */
export function samePolicy(a: PolicyOutcome | null, b: PolicyOutcome): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}

export function policyEvaluator(config: PolicyConfig, now: () => Date = () => new Date()): PolicyEvaluator {
  return ({ request, reports }) => {
    const failed = reports.filter((r) => r.status === 'failed').map((r) => `scanner ${r.scanner} failed: ${r.error?.code ?? 'unknown error'}`);
    const result = evaluate({
      findings: reports.flatMap((r) => r.findings),
      codeScans: codeScanEvidence(request),
      waivers: request.waivers.map(({ findingId, reason, expires, by }) => ({ findingId, reason, expires, by })),
      config,
      team: request.team,
      image: { repository: sourceName(request.source), digest: requestDigest(request) ?? '' },
      now: now(),
    });
    const blocking = [...new Set(result.blocking.map((f) => f.id))];
    const reasons = [...failed, ...result.reasons];
    if (reasons.length) return { verdict: 'fail', reasons, blocking };
    if (reports.length === 0) return { verdict: 'warn', reasons: ['no scanners configured: approval rests on the approvers alone', ...result.warnings], blocking };
    return { verdict: result.warnings.length ? 'warn' : 'pass', reasons: result.warnings, blocking };
  };
}
