/**
 * Prometheus metrics of one process (prom-client, a registry of its own rather than the global
 * one, so that tests and several services in one process never share counters). Counters move
 * with domain events (./metrics-subscriber.ts), the scan and step instruments are called by the
 * workers, and queue depths are read from BullMQ at scrape time. No digest, image or user is
 * ever a label: labels stay bounded (teams, states, scanners, outcomes).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Reads a queue's job counts at scrape time. */
export interface QueueCounts {
  name: string;
  getJobCounts(...types: JobState[]): Promise<Record<string, number>>;
}

/** Approval health counts read at scrape time (src/monitor/metrics-source.ts). */
export interface HealthCountsSource {
  (): Promise<{
    approved: Array<{ team: string; maxSeverity: string; count: number }>;
    atRisk: Array<{ team: string; severity: string; count: number }>;
  }>;
}

/** What a worker's staged-blob memory (registry/staged-blobs.ts) reports at scrape time. */
export interface StagedBlobsCounts {
  readonly reads: { readonly hits: number; readonly misses: number };
  readonly bytes: number;
  readonly recordingBytes: number;
}

type JobState = 'waiting' | 'prioritized' | 'active' | 'delayed' | 'failed' | 'completed';
const JOB_STATES: JobState[] = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'];

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'team' | 'status'>;
  readonly stageDuration: Histogram<'stage' | 'outcome'>;
  readonly timeToDecision: Histogram<'decision'>;
  readonly scans: Counter<'scanner' | 'outcome'>;
  readonly revocations: Counter<'reason'>;
  readonly webhookDeliveries: Counter<'outcome'>;
  /** Clair notification job runs: `applied`, `retried` (will run again), `abandoned` (given up, alerted). */
  readonly clairNotifications: Counter<'scanner' | 'outcome'>;
  private readonly queues: QueueCounts[] = [];
  private health?: HealthCountsSource;
  private vulndbAges: (() => Promise<Array<{ scanner: string; ageSeconds: number | null }>>) | null = null;
  private staged: StagedBlobsCounts | null = null;

  constructor(info: { version: string }) {
    const registers = [this.registry];
    // The two process figures that matter here, rather than prom-client's default set (whose
    // `nodejs_active_*_total` gauges fail promtool's naming rules).
    new Counter({
      name: 'portcullis_process_cpu_seconds_total', help: 'CPU time of this process (user + system).', registers,
      collect() {
        const { user, system } = process.cpuUsage();
        this.reset();
        this.inc((user + system) / 1e6);
      },
    });
    new Gauge({ name: 'portcullis_process_resident_memory_bytes', help: 'Resident memory of this process.', registers, collect() { this.set(process.memoryUsage.rss()); } });
    new Gauge({ name: 'portcullis_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node_version'], registers })
      .set({ version: info.version, node_version: process.version }, 1);
    this.requests = new Counter({ name: 'portcullis_requests_total', help: 'Requests that entered each state, by team.', labelNames: ['team', 'status'], registers });
    this.stageDuration = new Histogram({
      name: 'portcullis_pipeline_stage_duration_seconds', help: 'Time one pipeline step took in a worker.', labelNames: ['stage', 'outcome'], registers,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
    });
    this.timeToDecision = new Histogram({
      name: 'portcullis_time_to_decision_seconds', help: 'From request to an approver\'s decision.', labelNames: ['decision'], registers,
      buckets: [60, 300, 900, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400],
    });
    this.scans = new Counter({ name: 'portcullis_scans_total', help: 'Scans run, by scanner and outcome.', labelNames: ['scanner', 'outcome'], registers });
    this.revocations = new Counter({ name: 'portcullis_revocations_total', help: 'Approvals revoked, by kind of reason.', labelNames: ['reason'], registers });
    this.webhookDeliveries = new Counter({ name: 'portcullis_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome.', labelNames: ['outcome'], registers });
    this.clairNotifications = new Counter({ name: 'portcullis_clair_notifications_total', help: 'Clair notification job runs, by scanner and outcome (applied, retried, abandoned).', labelNames: ['scanner', 'outcome'], registers });
    // Both read once per scrape from the store, so every process reports the same numbers.
    let pending: ReturnType<HealthCountsSource> | null = null;
    const healthCounts = () => {
      if (!this.health) return null;
      pending ??= this.health().finally(() => { pending = null; });
      return pending;
    };
    new Gauge({
      name: 'portcullis_approved_images', help: 'Approved images (not revoked), by team and the max severity of their current findings.', labelNames: ['team', 'max_severity'], registers,
      async collect() {
        const counts = await healthCounts();
        if (!counts) return;
        this.reset();
        for (const c of counts.approved) this.set({ team: c.team, max_severity: c.maxSeverity }, c.count);
      },
    });
    new Gauge({
      name: 'portcullis_approvals_at_risk', help: 'Approvals at risk (a finding today\'s policy blocks), by team and the severity of the severest blocking finding.', labelNames: ['team', 'severity'], registers,
      async collect() {
        const counts = await healthCounts();
        if (!counts) return;
        this.reset();
        for (const c of counts.atRisk) this.set({ team: c.team, severity: c.severity }, c.count);
      },
    });
    const queues = this.queues;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new Gauge({
      name: 'portcullis_vulndb_age_seconds', help: 'Seconds since each scanner\'s vulnerability data was last confirmed current (a successful sync or a new data version).',
      labelNames: ['scanner'], registers,
      async collect() {
        this.reset();
        for (const { scanner, ageSeconds } of (await self.vulndbAges?.()) ?? []) if (ageSeconds !== null) this.set({ scanner }, ageSeconds);
      },
    });
    // The hit rate of the staged-blob memory: reads of the internal registry's blobs (the scan
    // of a just-staged image, rescans) served from this process's memory or from the registry.
    new Counter({
      name: 'portcullis_staged_blob_reads_total', help: 'Blob reads of the internal registry by this process, served from the blobs it just staged (hit) or from the registry (miss).',
      labelNames: ['result'], registers,
      collect() {
        if (!self.staged) return;
        this.reset();
        this.inc({ result: 'hit' }, self.staged.reads.hits);
        this.inc({ result: 'miss' }, self.staged.reads.misses);
      },
    });
    new Gauge({
      name: 'portcullis_staged_blob_bytes', help: 'Bytes of just-staged blobs this process holds in memory: kept for the scan, or reserved by uploads still running.',
      labelNames: ['state'], registers,
      collect() {
        if (!self.staged) return;
        this.set({ state: 'kept' }, self.staged.bytes);
        this.set({ state: 'recording' }, self.staged.recordingBytes);
      },
    });
    // BullMQ's own exporter's name (queue.exportPrometheusMetrics), so its dashboards work; promtool
    // lints its `_count` suffix, which the tests accept for this one metric.
    new Gauge({
      name: 'bullmq_job_count', help: 'Jobs per queue and state, read from BullMQ at scrape time.', labelNames: ['queue', 'state'], registers,
      async collect() {
        this.reset();
        for (const q of queues) {
          const counts = await q.getJobCounts(...JOB_STATES);
          for (const state of JOB_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
        }
      },
    });
  }

  /** Reports approval health in `portcullis_approved_images` and `portcullis_approvals_at_risk`. */
  watchHealth(source: HealthCountsSource): void {
    this.health = source;
  }

  /** Reads each scanner's data age at scrape time for `portcullis_vulndb_age_seconds` (src/monitor/scanner-status.ts). */
  watchVulndb(read: () => Promise<Array<{ scanner: string; ageSeconds: number | null }>>): void {
    this.vulndbAges = read;
  }

  /** Reports the staged-blob memory's hit rate and size (`portcullis_staged_blob_*`). */
  watchStagedBlobs(source: StagedBlobsCounts): void {
    this.staged = source;
  }

  /** Reports this queue's depth in `bullmq_job_count`. */
  watchQueue(queue: QueueCounts): void {
    this.queues.push(queue);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
