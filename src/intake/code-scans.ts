/**
 * Code-scan evidence (SARIF from SAST/SCA tools in the build) attached to a request by a
 * developer of its team, before or after the image scan, in any state that is not terminal.
 *
 * Storage, decided here:
 * - The original log is kept once, by its sha256, in the {@link CodeScanStore} beside the
 *   request: never in the request record, never in the audit trail (which gets the tool, the
 *   counts and the sha256). Uploading the same log again changes nothing and says so
 *   (`alreadyAttached`): no second entry, no second audit record, no duplicated reasons.
 * - Every run of a new log is appended as its own entry of `request.codeScans`; nothing is
 *   replaced. A later upload by the same tool may cover other code (CodeQL uploads one run
 *   per language), and silently dropping earlier findings would fail open.
 * - The request record stays small and bounded: each entry is a summary (tool, counts, the
 *   upload's digest) with its findings verbatim up to {@link INLINE_FINDINGS_LIMIT}, grouped by
 *   (rule id, severity) above it, one representative each. The grouping loses nothing the
 *   policy looks at: code findings have no aliases, and a waiver or allowlist entry names a rule
 *   id, so every finding of a group blocks or passes together. Every string in it was bounded
 *   at the edge (scanners/sarif/limits.ts), and the `codeScans.*` counts below bound the rest;
 *   over a bound the upload is refused (413 naming the key), never cut.
 */
import { createHash, randomUUID } from 'node:crypto';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { CodeScan } from '../scanners';
import { DEFAULT_CODE_SCAN_LIMITS, type CodeScanLimits } from '../scanners';
import { overLimit } from '../scanners';
import { summarize, type Finding } from '../scanners/types';
import { isTerminal, type CodeScanRecord, type CodeScanStore, type IntakeRequest, type RequestStore } from '../store/types';
import { canRead, isMember, requireRole } from './access';
import type { EventBus } from './events';
import { digestDetails } from './lifecycle';
import type { PolicyEvaluator } from './ports';

/** Findings per run kept verbatim on the request; above it they are grouped. */
export const INLINE_FINDINGS_LIMIT = 100;
/** The default of `codeScans.maxRunsPerRequest` (kept for callers of the former constant). */
export const MAX_CODE_SCANS = DEFAULT_CODE_SCAN_LIMITS.maxRunsPerRequest;

export type { CodeScanRecord } from '../store/types';

export interface CodeScanServiceDeps {
  requests: RequestStore;
  /** The original logs, once each. */
  details: CodeScanStore;
  events: EventBus;
  /**
   * Re-evaluates the verdict of a request that has one when evidence arrives, as a waiver
   * does, so that the queue never shows a verdict that ignores it. Without it the verdict is
   * refreshed only at approval (main.ts should pass the pipeline's evaluator).
   */
  policy?: PolicyEvaluator;
  /** `codeScans.*`; the defaults when absent. */
  limits?: CodeScanLimits;
}

/** A validated SARIF log: its runs and the bytes as sent. */
export interface CodeScanUpload {
  scans: readonly CodeScan[];
  log: Buffer;
}

export interface AttachResult {
  request: IntakeRequest;
  /** The entries this upload added (none when it was already attached). */
  added: CodeScanRecord[];
  upload: { sha256: string; bytes: number; runs: number; alreadyAttached: boolean };
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

function toRecord(scan: CodeScan, run: number, upload: { sha256: string; bytes: number }, by: string, at: string): CodeScanRecord {
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
    upload: { ...upload, run },
  };
}

/** Distinct uploads of a request and their bytes (entries from before `upload` count as one each). */
function uploadsOf(r: IntakeRequest): { count: number; bytes: number } {
  const seen = new Map<string, number>();
  r.codeScans.forEach((c, i) => seen.set(c.upload?.sha256 ?? `legacy-${i}`, c.upload?.bytes ?? 0));
  return { count: seen.size, bytes: [...seen.values()].reduce((a, b) => a + b, 0) };
}

/** Throws the 413 for the first per-request bound that adding `added` would break. */
function checkRequestLimits(r: IntakeRequest, added: readonly CodeScanRecord[], bytes: number, l: CodeScanLimits): void {
  const before = uploadsOf(r);
  if (before.count + 1 > l.maxUploadsPerRequest) throw overLimit('maxUploadsPerRequest', l.maxUploadsPerRequest, before.count + 1, 'SARIF logs on this request with this one');
  if (before.bytes + bytes > l.maxStoredBytesPerRequest) throw overLimit('maxStoredBytesPerRequest', l.maxStoredBytesPerRequest, before.bytes + bytes, 'bytes of SARIF logs on this request with this one');
  const runs = r.codeScans.length + added.length;
  if (runs > l.maxRunsPerRequest) throw overLimit('maxRunsPerRequest', l.maxRunsPerRequest, runs, 'code-scan runs on this request with these');
  // The one bound that holds the record small whatever the mix of fields: its code-scan part, as stored.
  const kept = Buffer.byteLength(JSON.stringify([...r.codeScans, ...added]));
  if (kept > l.maxSummaryBytesPerRequest) throw overLimit('maxSummaryBytesPerRequest', l.maxSummaryBytesPerRequest, kept, 'bytes of code-scan summaries on this request with these');
}

export class CodeScanService {
  readonly limits: CodeScanLimits;

  constructor(private readonly d: CodeScanServiceDeps) {
    this.limits = d.limits ?? DEFAULT_CODE_SCAN_LIMITS;
  }

  /**
   * Appends the runs of a validated SARIF log to the request, unless that very log (by sha256)
   * is already attached. Role first (403), then team (404, like every route), then state
   * (409 INVALID_STATE once terminal), then the `codeScans.*` bounds (413).
   */
  async attach(p: Principal, id: string, { scans, log }: CodeScanUpload): Promise<AttachResult> {
    requireRole(p, ['developer', 'admin'], 'uploading code-scan evidence');
    // `runs: []` is valid SARIF, but it says that no tool ran: evidence of nothing. Refused, so
    // that a CI step cannot believe it attached evidence (see README, "Code-scan evidence").
    if (scans.length === 0) throw new AppError('INVALID_SARIF', 'the SARIF log holds no runs (no tool ran), so it is evidence of nothing; upload the log of a tool run, even one without results', { details: { path: 'runs' } });
    const current = await this.d.requests.get(id);
    if (!current || !isMember(p, current.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    const sha256 = createHash('sha256').update(log).digest('hex');
    const upload = { sha256, bytes: log.length, runs: scans.length };
    const attached = (r: IntakeRequest): boolean => r.codeScans.some((c) => c.upload?.sha256 === sha256);
    if (attached(current)) return { request: current, added: [], upload: { ...upload, alreadyAttached: true } };
    const at = new Date().toISOString();
    const added = scans.map((s, run) => toRecord(s, run, { sha256, bytes: log.length }, p.name, at));
    // Refuse before writing anything when the bounds are already known to be broken.
    if (isTerminal(current.status)) throw new AppError('INVALID_STATE', `request is ${current.status}; code scans can only be added before it ends`);
    checkRequestLimits(current, added, log.length, this.limits);

    // The log first: a request entry never points at a log that was not written.
    const wrote = await this.d.details.putUpload(id, sha256, log);
    let already = false;
    let request: IntakeRequest;
    try {
      request = await this.d.requests.update(id, (r) => {
        already = attached(r); // set on every attempt: only the saved (or last) one counts
        if (already) return null;
        if (isTerminal(r.status)) throw new AppError('INVALID_STATE', `request is ${r.status}; code scans can only be added before it ends`);
        checkRequestLimits(r, added, log.length, this.limits);
        const next = { ...r, codeScans: [...r.codeScans, ...added], updatedAt: at };
        // Before scanning there is no verdict yet; the scan step's evaluation will count this evidence.
        return r.policy && this.d.policy ? { ...next, policy: this.d.policy({ request: next, reports: next.scans }) } : next;
      });
    } catch (err) {
      // Only the writer of the log removes it, and only when no saved entry refers to it.
      if (wrote) {
        const now = await this.d.requests.get(id).catch(() => null);
        if (!now || !attached(now)) await this.d.details.deleteUpload(id, sha256);
      }
      throw err;
    }
    if (already) return { request, added: [], upload: { ...upload, alreadyAttached: true } };
    // A concurrent writer of the same log that failed may have removed it meanwhile: put it back.
    if (!wrote) await this.d.details.putUpload(id, sha256, log);
    for (const r of added) {
      await this.d.events.publish({
        type: 'code_scan.attached', actor: p.name, target: `request/${id}`,
        details: {
          team: request.team, ...digestDetails(request), status: request.status, codeScanId: r.id,
          tool: r.tool, toolVersion: r.toolVersion ?? null, findings: r.findingsTotal, summary: r.summary, verdict: request.policy?.verdict ?? null,
          upload: { sha256, bytes: log.length, run: r.upload?.run ?? 0, runs: scans.length },
        },
      });
    }
    return { request, added, upload: { ...upload, alreadyAttached: false } };
  }

  /** The original log of one upload, for those who may read the request. */
  async log(p: Principal, id: string, sha256: string): Promise<Buffer> {
    requireRole(p, ['developer', 'approver', 'admin', 'auditor'], 'reading code-scan evidence');
    const current = await this.d.requests.get(id);
    if (!current || !canRead(p, current.team)) throw new AppError('NOT_FOUND', `request ${id} not found`);
    const stored = current.codeScans.some((c) => c.upload?.sha256 === sha256) ? await this.d.details.getUpload(id, sha256) : null;
    if (!stored) throw new AppError('NOT_FOUND', `no SARIF log ${sha256} on request ${id}`);
    return stored;
  }
}
