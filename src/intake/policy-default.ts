/**
 * The policy used until the policy module is wired in main.ts: fail closed on a failed scan
 * or a critical finding, pass otherwise. With no scanners configured the verdict is `warn`,
 * so approvers see that nothing was scanned.
 */
import type { PolicyEvaluator } from './ports';

export const defaultPolicy: PolicyEvaluator = ({ reports }) => {
  if (reports.length === 0) return { verdict: 'warn', reasons: ['no scanners configured: approval rests on the approvers alone'] };
  const failed = reports.filter((r) => r.status === 'failed').map((r) => `scanner ${r.scanner} failed: ${r.error?.code ?? 'unknown'}`);
  const critical = reports.reduce((n, r) => n + r.summary.critical, 0);
  const reasons = [...failed, ...(critical ? [`${critical} critical finding(s)`] : [])];
  return reasons.length ? { verdict: 'fail', reasons } : { verdict: 'pass', reasons: [] };
};
