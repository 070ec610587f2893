/**
 * The pipeline's PolicyEvaluator over the policy module's pure `evaluate`: findings of every
 * report, the request's code scans, and the configured policy. Fail closed: a scanner whose
 * scan failed fails the verdict. With no scanners configured the verdict is `warn`, so
 * approvers see that nothing was scanned.
 */
import { evaluate, type CodeScanEvidence, type PolicyConfig } from '../policy';
import { sourceName } from './paths';
import type { PolicyEvaluator } from './ports';

export function policyEvaluator(config: PolicyConfig, now: () => Date = () => new Date()): PolicyEvaluator {
  return ({ request, reports }) => {
    const failed = reports.filter((r) => r.status === 'failed').map((r) => `scanner ${r.scanner} failed: ${r.error?.code ?? 'unknown error'}`);
    const result = evaluate({
      findings: reports.flatMap((r) => r.findings),
      codeScans: request.codeScans as CodeScanEvidence[],
      waivers: [],
      config,
      team: request.team,
      image: { repository: sourceName(request.source), digest: request.source.digest ?? '' },
      now: now(),
    });
    const reasons = [...failed, ...result.reasons];
    if (reasons.length) return { verdict: 'fail', reasons };
    if (reports.length === 0) return { verdict: 'warn', reasons: ['no scanners configured: approval rests on the approvers alone', ...result.warnings] };
    return { verdict: result.warnings.length ? 'warn' : 'pass', reasons: result.warnings };
  };
}
