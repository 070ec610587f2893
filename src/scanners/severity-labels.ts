/**
 * Maps the severity words advisory databases use to Portcullis' scale: GitHub's
 * `database_specific.severity` (`CRITICAL`, `HIGH`, `MODERATE`, `LOW`), Ubuntu priorities
 * (`negligible`, `untriaged`…), and Debian/Alpine words. Anything unrecognised is `unknown`:
 * guessing a band could let a real critical through.
 */
import type { Severity } from './types';

const LABELS: Record<string, Severity> = {
  critical: 'critical',
  important: 'high',
  high: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'low',
  'unimportant': 'low',
};

export function severityFromLabel(label: unknown): Severity {
  if (typeof label !== 'string') return 'unknown';
  return LABELS[label.trim().toLowerCase()] ?? 'unknown';
}
