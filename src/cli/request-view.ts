/** How the CLI prints a request: the facts a developer or approver acts on, one per line. */
import { table } from './common';

export interface RequestView {
  id: string;
  image: string;
  team: string;
  status: string;
  requestedBy?: string;
  justification?: string;
  createdAt?: string;
  source?: { digest?: string };
  /** The request's identity once staged, when it differs from the upstream digest (platform selection, engine mover). */
  stagedDigest?: string | null;
  internalRef?: string | null;
  policy?: { verdict: string; reasons: string[]; blocking?: string[] } | null;
  scans?: Array<{ scanner: string; status: string; summary: Record<string, number> }>;
  waivers?: Array<{ findingId: string; reason: string; expires: string; by: string }>;
  decisions?: Array<{ by: string; decision: 'approve' | 'reject'; comment: string; at: string }>;
  error?: { code: string; message: string } | null;
}

/** `2026-12-31T23:59:59.999Z` → `2026-12-31 23:59:59 UTC`. */
export function utc(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function formatRequest(r: RequestView): string {
  const lines = [
    `id:        ${r.id}`,
    `image:     ${r.image} (team ${r.team}${r.requestedBy ? `, by ${r.requestedBy}` : ''})`,
    `status:    ${r.status}`,
  ];
  if (r.source?.digest) lines.push(`digest:    ${r.source.digest}`);
  if (r.stagedDigest && r.stagedDigest !== r.source?.digest) lines.push(`staged:    ${r.stagedDigest} (the identity scanned and approved)`);
  for (const s of r.scans ?? []) {
    const counts = ['critical', 'high', 'medium', 'low', 'unknown'].map((k) => `${s.summary[k] ?? 0} ${k}`).join(', ');
    lines.push(`scan:      ${s.scanner} ${s.status}: ${counts}`);
  }
  if (r.policy) {
    lines.push(`policy:    ${r.policy.verdict}`);
    for (const reason of r.policy.reasons) lines.push(`           - ${reason}`);
    if (r.policy.blocking?.length) lines.push(`blocking:  ${r.policy.blocking.join(', ')}`);
  }
  for (const w of r.waivers ?? []) {
    const expired = Date.parse(w.expires) <= Date.now() ? ' (expired)' : '';
    lines.push(`waiver:    ${w.findingId} until ${utc(w.expires)}${expired}, by ${w.by}: ${w.reason}`);
  }
  for (const d of r.decisions ?? []) {
    const verb = d.decision === 'approve' ? 'approved' : 'rejected';
    lines.push(`decision:  ${verb} by ${d.by} at ${utc(d.at)}${d.comment ? `: ${d.comment}` : ''}`);
  }
  if (r.internalRef) lines.push(`approved:  ${r.internalRef}`);
  if (r.error) lines.push(`error:     ${r.error.code}: ${r.error.message}`);
  return `${lines.join('\n')}\n`;
}

export function printRequest(r: RequestView): void {
  process.stdout.write(formatRequest(r));
}

/** One row per request. */
export function requestTable(items: RequestView[]): string {
  return table(['ID', 'STATUS', 'TEAM', 'BY', 'VERDICT', 'IMAGE'],
    items.map((r) => [r.id, r.status, r.team, r.requestedBy ?? '', r.policy?.verdict ?? '', r.image]));
}
