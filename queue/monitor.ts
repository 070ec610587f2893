/**
 * The monitor's scheduled jobs on the maintenance queue (one BullMQ job scheduler each, shared
 * by every worker, so each runs once per period, not once per worker):
 * - `health-sweep` every `monitor.sweepEvery`: re-evaluation, waiver-expiry alerts, deadlines
 *   (src/monitor/sweep.ts);
 * - `drift` every `monitor.driftEvery` / 12, one twelfth of the approved tags per run
 *   (src/monitor/drift.ts), so the upstream HEADs are spread over the period;
 * - `snapshots` hourly: each team's snapshot is written once per UTC day (the first run of the
 *   day writes it; a worker down at midnight catches up at its next run).
 */
import type { Job, Queue } from 'bullmq';
import type { Logger } from '../src/lib/logger';
import { DRIFT_SLICES, type DriftService } from '../src/monitor/drift';
import type { SnapshotService } from '../src/monitor/snapshots';
import type { HealthSweep } from '../src/monitor/sweep';

const SNAPSHOT_EVERY_MS = 3_600_000;
const JOB_OPTS = { attempts: 3, backoff: { type: 'exponential', delay: 60_000 }, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } } as const;

/** Creates or updates the three schedules (idempotent: every worker calls it at start). */
export async function scheduleMonitor(queue: Queue, every: { sweepMs: number; driftMs: number }): Promise<void> {
  await queue.upsertJobScheduler('health-sweep', { every: every.sweepMs }, { name: 'health-sweep', data: {}, opts: JOB_OPTS });
  await queue.upsertJobScheduler('drift', { every: Math.max(1000, Math.floor(every.driftMs / DRIFT_SLICES)) }, { name: 'drift', data: {}, opts: JOB_OPTS });
  await queue.upsertJobScheduler('snapshots', { every: SNAPSHOT_EVERY_MS }, { name: 'snapshots', data: {}, opts: JOB_OPTS });
}

export interface MonitorJobs {
  sweep: Pick<HealthSweep, 'run'>;
  drift: Pick<DriftService, 'run' | 'currentSlice'>;
  snapshots: Pick<SnapshotService, 'run'>;
}

export function monitorProcessors(jobs: MonitorJobs, logger: Logger): Record<string, (job: Job) => Promise<void>> {
  return {
    'health-sweep': async (job) => {
      const out = await jobs.sweep.run();
      logger.info({ 'job.id': job.id, full: out.full, evaluated: out.evaluated, atRisk: out.atRisk, revoked: out.revoked.length, reviews: out.reviews.length, waiverAlerts: out.waiverAlerts, republished: out.republished }, 'health sweep');
    },
    drift: async (job) => {
      const slice = jobs.drift.currentSlice();
      const found = await jobs.drift.run(slice);
      logger.info({ 'job.id': job.id, slice, drifted: found.length }, 'drift check');
    },
    snapshots: async (job) => {
      const out = await jobs.snapshots.run();
      logger.info({ 'job.id': job.id, day: out.day, written: out.written.length }, 'daily snapshots');
    },
  };
}
