/**
 * The health gauges' numbers, read from the store's summary hash at scrape time (every process
 * reports the same totals: the state lives in Redis, not in one process's memory).
 * `approved` counts approvals not revoked by team and max severity of their current findings;
 * `atRisk` counts at-risk approvals by team and severity of their severest blocking finding.
 */
import type { HealthStore } from './health-store';

export interface HealthCounts {
  approved: Array<{ team: string; maxSeverity: string; count: number }>;
  atRisk: Array<{ team: string; severity: string; count: number }>;
}

export function healthMetricsSource(store: Pick<HealthStore, 'summaries'>): () => Promise<HealthCounts> {
  return async () => {
    const approved = new Map<string, number>();
    const atRisk = new Map<string, number>();
    for (const s of await store.summaries()) {
      const a = `${s.team}|${s.maxSeverity}`;
      approved.set(a, (approved.get(a) ?? 0) + 1);
      if (s.state === 'at_risk') {
        const r = `${s.team}|${s.riskSeverity ?? 'unknown'}`;
        atRisk.set(r, (atRisk.get(r) ?? 0) + 1);
      }
    }
    const split = (k: string) => k.split('|');
    return {
      approved: [...approved].map(([k, count]) => ({ team: split(k)[0], maxSeverity: split(k)[1], count })),
      atRisk: [...atRisk].map(([k, count]) => ({ team: split(k)[0], severity: split(k)[1], count })),
    };
  };
}
