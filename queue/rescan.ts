/**
 * Job `rescan` on the monitor queue (issue 13.2): one BullMQ job scheduler shared by every
 * worker runs src/monitor/rescan.ts every `rescanEvery / 96` (at most 5 min), each run taking
 * the approved digests whose slot fell since the previous one.
 *
 * A lease keeps two runs from overlapping (a long run on one worker, the next tick on another):
 * the step lease of src/store/redis-step-leases.ts, short (`worker.stepLeaseMs`) and renewed by
 * the process's lease keeper thread while the run goes on. It used to be a plain lock with a
 * one-hour TTL: a run longer than that (a slow Harbor) was overlapped by a second worker, and a
 * worker killed mid-run blocked every rescan for the rest of the hour. A run whose lease is lost
 * anyway (its process stalled past the TTL) stops at its next digest (../src/monitor/rescan.ts).
 */
import type { Job, Queue } from 'bullmq';
import type { Leases } from '../src/lib/lease-wait';
import type { Logger } from '../src/lib/logger';
import { rescanTickMs, type RescanService } from '../src/monitor/rescan';

export const RESCAN_JOB = 'rescan';

/** The lease a rescan run holds: one for every scanner, since a run walks them all. */
export const RESCAN_LEASE = { step: 'rescan', id: 'run' } as const;

/** What the processor needs of the step leases (src/store/redis-step-leases.ts): taken once, not waited for (a tick that finds it held is skipped). */
export type RescanLeases = Pick<Leases, 'acquire'>;

export async function scheduleRescans(queue: Queue, periodMs: number): Promise<void> {
  await queue.upsertJobScheduler(RESCAN_JOB, { every: rescanTickMs(periodMs) }, {
    name: RESCAN_JOB, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
  });
}

export function rescanProcessor(service: Pick<RescanService, 'run'>, leases: RescanLeases, logger: Logger): (job: Job) => Promise<unknown> {
  return async () => {
    const lease = await leases.acquire(RESCAN_LEASE.step, RESCAN_LEASE.id);
    if (!lease) {
      logger.info('a rescan run is already going on another worker; skipped');
      return { skipped: true };
    }
    try {
      const runs = await service.run({ held: () => lease.held() });
      return { scanners: runs.map((r) => ({ scanner: r.scanner, rescanned: r.rescanned.length, changed: r.changed.length, deferred: r.deferred, ...(r.leaseLost ? { leaseLost: true } : {}) })) };
    } finally {
      await lease.release();
    }
  };
}
