/**
 * Code-scan evidence (SARIF from SAST/SCA tools in the build) attached to a request by a
 * developer of its team, before or after the image scan, in any state that is not terminal.
 *
 * Storage, decided here:
 * - Every run of every upload is appended as its own entry of `request.codeScans`; nothing is
 *   replaced. A later upload by the same tool may cover other code (CodeQL uploads one run
 *   per language), and silently dropping earlier findings would fail open.
 * - The request record stays small: a run with more than {@link INLINE_FINDINGS_LIMIT}
 *   findings keeps them on the request grouped by (rule id, severity), one representative
 *   each, and the full list goes to the {@link CodeScanStore} under the entry's `id`. The
 *   grouping loses nothing the policy looks at: code findings have no aliases, and a waiver or
 *   allowlist entry names a rule id, so every finding of a group blocks or passes together.
 * - At most {@link MAX_CODE_SCANS} entries per request, so re-uploads cannot grow it unbounded.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { CodeScan } from '../scanners';
import { summarize, type Finding } from '../scanners/types';
import { isTerminal, type CodeScanRecord, type CodeScanStore, type IntakeRequest, type RequestStore } from '../store/types';
import { isMember, requireRole } from './access';
import type { EventBus } from './events';
import { digestDetails } from './lifecycle';
import type { PolicyEvaluator } from './ports';

/** Findings per run kept verbatim on the request; above it they are grouped. */
export const INLINE_FINDINGS_LIMIT = 100;
/** Code-scan entries one request may hold. */
export const MAX_CODE_SCANS = 50;

export type { CodeScanRecord } from '../store/types';

export interface CodeScanServiceDeps {
  requests: RequestStore;
  /** Full findings of grouped runs. */
  details: CodeScanStore;
  events: EventBus;
  /**
   * Re-evaluates the verdict of a request that has one when evidence arrives, as a waiver
   * does, so that the queue never shows a verdict that ignores it. Without it the verdict is
   * refreshed only at approval (main.ts should pass the pipeline's evaluator).
   */
  policy?: PolicyEvaluator;
}

/** One representative per (id, severity), its title saying how many it stands for. */
export function groupFindings(findings: readonly Finding[]): Finding[] {
  const groups = new Map<string, { first: Finding; count: number }>();
  for (const f of findings) {
    const key = `${f.severity}\u0000${f.id}`;
    const g = groups.get(key);
    if (g) g.count += 1;
    else groups.set(key, { first: f, count: 1 });
  }
  return [...groups.values()].map(({ first, count }) => (count === 1 ? first : { ...first, title: `${first.title} (and ${count - 1} more locations)` }));
}

function toRecord(scan: CodeScan, by: string, at: string): CodeScanRecord {
  const grouped = scan.findings.length > INLINE_FINDINGS_LIMIT;
  return {
    id: randomUUID(),
    tool: scan.tool,
    ...(scan.toolVersion ? { toolVersion: scan.toolVersion } : {}),
    uploadedBy: by,
    uploadedAt: at,
    summary: summarize(scan.findings),
    findings: grouped ? groupFindings(scan.findings) : scan.findings,
    findingsTotal: scan.findings.length,
    grouped,
  };
}

export class CodeScanService {
  constructor(private readonly d: CodeScanServiceDeps) {}

  /**
   * Appends the runs of a validated SARIF log to the request. Role first (403), then team
   * (404, like every route), then state (409 INVALID_STATE once terminal).
   */
  async attach(p: Principal, id: string, scans: readonly CodeScan[]): Promise<{ request: IntakeRequest; added: CodeScanRecord[] }> {
    requireRole(p, ['developer', 'admin'], 'uploading code-scan evidence');
    // `runs: []` is valid SARIF (no tool ran) but is no evidence of anything.
    if (scans.length === 0) throw new AppError('INVALID_SARIF', 'invalid SARIF 2.1.0 log at runs: the log holds no runs', { details: { path: 'runs' } });
    const current = await this.d.requests.get(id);
    if (!current || !isMember(p, current.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    const at = new Date().toISOString();
    const added = scans.map((s) => toRecord(s, p.name, at));
    const full = new Map(scans.map((s, i) => [added[i].id, s.findings]));
    // Details first: a request entry never points at findings that were not written.
    for (const r of added) if (r.grouped) await this.d.details.putFindings(id, r.id, full.get(r.id) ?? []);
    let request: IntakeRequest;
    try {
      request = await this.d.requests.update(id, (r) => {
        if (isTerminal(r.status)) throw new AppError('INVALID_STATE', `request is ${r.status}; code scans can only be added before it ends`);
        if (r.codeScans.length + added.length > MAX_CODE_SCANS) throw new AppError('CONFLICT', `a request holds at most ${MAX_CODE_SCANS} code scans`);
        const next = { ...r, codeScans: [...r.codeScans, ...added], updatedAt: at };
        // Before scanning there is no verdict yet; the scan step's evaluation will count this evidence.
        return r.policy && this.d.policy ? { ...next, policy: this.d.policy({ request: next, reports: next.scans }) } : next;
      });
    } catch (err) {
      await Promise.all(added.filter((r) => r.grouped).map((r) => this.d.details.deleteFindings(id, r.id)));
      throw err;
    }
    for (const r of added) {
      await this.d.events.publish({
        type: 'code_scan.attached', actor: p.name, target: `request/${id}`,
        details: {
          team: request.team, ...digestDetails(request), status: request.status, codeScanId: r.id,
          tool: r.tool, toolVersion: r.toolVersion ?? null, findings: r.findingsTotal, summary: r.summary, verdict: request.policy?.verdict ?? null,
        },
      });
    }
    return { request, added };
  }
}
