/**
 * The webhook replica's Prometheus metrics, on the process's registry (main.ts serves it on the
 * metrics listener): decisions by endpoint and outcome, admission-ledger records by outcome
 * (written, sampled, dropped because the buffer was full, failed to write), the buffer's fill,
 * and whether the replica's view of the ledger is stale. Labels stay bounded: no image, no team.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RecordOutcome } from './recorder';

export type ReviewOutcome = 'allowed' | 'denied' | 'warned';

type Counts<K extends string> = Record<K, number>;
const zero = <K extends string>(keys: readonly K[]): Counts<K> => Object.fromEntries(keys.map((k) => [k, 0])) as Counts<K>;
const OUTCOMES = ['allowed', 'denied', 'warned'] as const;
const RECORD_OUTCOMES = ['written', 'sampled', 'dropped', 'failed'] as const;

/**
 * Counts are kept as plain numbers and handed to prom-client when it is scraped (`collect`):
 * a labelled `inc` hashes and validates its labels, a cost every review would pay for a figure
 * read every few seconds.
 */
export class AdmissionMetrics {
  private readonly pendingReviews = { mutate: zero(OUTCOMES), validate: zero(OUTCOMES) };
  private readonly pendingRecords = zero(RECORD_OUTCOMES);

  constructor(registry: Registry, state: { stale: () => boolean; buffered: () => number; approved: () => number; exceptions: () => number }) {
    const registers = [registry];
    const reviews = this.pendingReviews;
    const records = this.pendingRecords;
    new Counter({
      name: 'portcullis_admission_reviews_total', help: 'AdmissionReviews answered, by endpoint and outcome.', labelNames: ['endpoint', 'outcome'] as const, registers,
      collect() {
        for (const endpoint of ['mutate', 'validate'] as const) {
          for (const outcome of OUTCOMES) {
            const n = reviews[endpoint][outcome];
            reviews[endpoint][outcome] = 0;
            // Every series exists from the start (at 0), as with labelled counters touched once.
            this.inc({ endpoint, outcome }, n);
          }
        }
      },
    });
    new Counter({
      name: 'portcullis_admission_records_total', help: 'Admission-ledger records by outcome (dropped: the buffer was full; sampled: a repeated identical allow).', labelNames: ['outcome'] as const, registers,
      collect() {
        for (const outcome of RECORD_OUTCOMES) {
          const n = records[outcome];
          records[outcome] = 0;
          this.inc({ outcome }, n);
        }
      },
    });
    new Gauge({ name: 'portcullis_admission_records_buffered', help: 'Admission-ledger records waiting to be written.', registers, collect() { this.set(state.buffered()); } });
    new Gauge({ name: 'portcullis_admission_stale', help: '1 while this replica cannot confirm its view of the ledger is current.', registers, collect() { this.set(state.stale() ? 1 : 0); } });
    new Gauge({ name: 'portcullis_admission_approved_images', help: 'Approved images this replica holds in memory.', registers, collect() { this.set(state.approved()); } });
    new Gauge({ name: 'portcullis_admission_exceptions', help: 'Break-glass exceptions this replica holds in memory (active or recently expired).', registers, collect() { this.set(state.exceptions()); } });
  }

  review(endpoint: 'mutate' | 'validate', outcome: ReviewOutcome): void {
    this.pendingReviews[endpoint][outcome] += 1;
  }

  record(outcome: RecordOutcome, n: number): void {
    this.pendingRecords[outcome] += n;
  }
}
