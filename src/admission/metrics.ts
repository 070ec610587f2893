/**
 * The webhook replica's Prometheus metrics, on the process's registry (main.ts serves it on the
 * metrics listener): decisions by endpoint and outcome, admission-ledger records by outcome
 * (written, sampled, dropped because the buffer was full, failed to write), the buffer's fill,
 * and whether the replica's view of the ledger is stale. Labels stay bounded: no image, no team.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RecordOutcome } from './recorder';

export type ReviewOutcome = 'allowed' | 'denied' | 'warned';

export class AdmissionMetrics {
  // Label children resolved once: prom-client hashes the labels on every labelled inc.
  private readonly reviewChildren = new Map<string, { inc(): void }>();
  private readonly recordChildren = new Map<string, { inc(n: number): void }>();
  private readonly reviews: Counter<'endpoint' | 'outcome'>;
  private readonly records: Counter<'outcome'>;

  constructor(registry: Registry, state: { stale: () => boolean; buffered: () => number; approved: () => number; exceptions: () => number }) {
    const registers = [registry];
    this.reviews = new Counter({ name: 'portcullis_admission_reviews_total', help: 'AdmissionReviews answered, by endpoint and outcome.', labelNames: ['endpoint', 'outcome'], registers });
    this.records = new Counter({ name: 'portcullis_admission_records_total', help: 'Admission-ledger records by outcome (dropped: the buffer was full; sampled: a repeated identical allow).', labelNames: ['outcome'], registers });
    new Gauge({ name: 'portcullis_admission_records_buffered', help: 'Admission-ledger records waiting to be written.', registers, collect() { this.set(state.buffered()); } });
    new Gauge({ name: 'portcullis_admission_stale', help: '1 while this replica cannot confirm its view of the ledger is current.', registers, collect() { this.set(state.stale() ? 1 : 0); } });
    new Gauge({ name: 'portcullis_admission_approved_images', help: 'Approved images this replica holds in memory.', registers, collect() { this.set(state.approved()); } });
    new Gauge({ name: 'portcullis_admission_exceptions', help: 'Break-glass exceptions this replica holds in memory (active or recently expired).', registers, collect() { this.set(state.exceptions()); } });
  }

  review(endpoint: 'mutate' | 'validate', outcome: ReviewOutcome): void {
    const key = `${endpoint}/${outcome}`;
    let child = this.reviewChildren.get(key);
    if (!child) {
      child = this.reviews.labels(endpoint, outcome);
      this.reviewChildren.set(key, child);
    }
    child.inc();
  }

  record(outcome: RecordOutcome, n: number): void {
    let child = this.recordChildren.get(outcome);
    if (!child) {
      child = this.records.labels(outcome);
      this.recordChildren.set(outcome, child);
    }
    child.inc(n);
  }
}
