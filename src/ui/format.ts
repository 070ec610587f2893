/** Small display helpers shared by the pages: ages, dates, severities, digests. */
import { SEVERITIES, type Severity, type SeveritySummary } from '../scanners/types';
import { html, type Html } from './html';

export function shortDigest(d: string | undefined | null): string {
  if (!d) return '—';
  return d.startsWith('sha256:') ? `sha256:${d.slice(7, 19)}` : d.slice(0, 19);
}

/** "3 d", "5 h", "12 min", "now": the age of an ISO time at `now`. */
export function age(iso: string, now: number = Date.now()): string {
  const ms = Math.max(0, now - Date.parse(iso));
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'now';
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** An ISO time as `2026-12-01 18:09 UTC` (pages are read by people in many zones). */
export function when(iso: string | undefined | null): string {
  if (!iso || Number.isNaN(Date.parse(iso))) return '—';
  return `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function timeEl(iso: string | undefined | null): Html {
  return iso ? html`<time datetime="${iso}">${when(iso)}</time>` : html`—`;
}

export function severityBadge(s: Severity | 'none'): Html {
  return html`<span class="sev sev-${s}">${s}</span>`;
}

/** The highest severity with a count above zero. */
export function highest(summary: Partial<SeveritySummary>): Severity | 'none' {
  for (const s of SEVERITIES) if ((summary[s] ?? 0) > 0) return s;
  return 'none';
}

export function addSummaries(list: ReadonlyArray<Partial<SeveritySummary>>): SeveritySummary {
  const out: SeveritySummary = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const s of list) for (const k of SEVERITIES) out[k] += s[k] ?? 0;
  return out;
}

export function summaryCells(s: SeveritySummary): Html {
  return html`${SEVERITIES.map((k) => html`<td class="num">${s[k]}</td>`)}`;
}

export function statusBadge(status: string): Html {
  return html`<span class="status status-${status}">${status.replace(/_/g, ' ')}</span>`;
}
