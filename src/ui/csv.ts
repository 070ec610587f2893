/**
 * CSV and NDJSON of audit entries. A spreadsheet runs a cell that starts with `=`, `+`, `-`,
 * `@`, a tab or a carriage return as a formula (CSV injection, OWASP; goharbor/harbor #23679):
 * such a cell is prefixed with `'`, which spreadsheets show and do not evaluate. Cells are
 * quoted per RFC 4180 when they hold a quote, comma or line break.
 */
import type { AuditEntry } from '../audit';

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  let s = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (FORMULA.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `text`: the free text people wrote (reason, comment, justification), in a column of its own for spreadsheet readers. */
export const AUDIT_CSV_HEADER = ['seq', 'at', 'actor', 'action', 'target', 'team', 'text', 'details', 'keyId', 'hash'];

function freeText(d: Record<string, unknown> | undefined): string {
  for (const k of ['reason', 'comment', 'justification', 'note']) if (typeof d?.[k] === 'string') return d[k] as string;
  return '';
}

export function auditCsvRow(e: AuditEntry): string {
  const team = typeof e.details?.team === 'string' ? e.details.team : '';
  return [String(e.seq), e.at, e.actor, e.action, e.target, team, freeText(e.details), e.details, e.keyId, e.hash].map(csvCell).join(',');
}

export function auditNdjsonLine(e: AuditEntry): string {
  return JSON.stringify(e);
}
