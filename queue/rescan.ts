/**
 * Job `rescan` on the monitor queue (issue 13.2): one BullMQ job scheduler shared by every
 * worker runs src/monitor/rescan.ts every `rescanEvery / 96` (at most 5 min), each run taking
 * the approved digests whose slot fell since the previous one. A Redis lock keeps two runs
 * from overlapping (a long run on one worker, the next tick on another).
 */
import type { Job, Queue } from 'bullmq';
import type Redis from 'ioredis';
import type { Logger } from '../src/lib/logger';
import { rescanTickMs, type RescanService } from '../src/monitor/rescan';
import { withLock } from './vulndb-sync';

export const RESCAN_JOB = 'rescan';

export async function scheduleRescans(queue: Queue, periodMs: number): Promise<void> {
  await queue.upsertJobScheduler(RESCAN_JOB, { every: rescanTickMs(periodMs) }, {
    name: RESCAN_JOB, data: {}, opts: { attempts: 1, removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
  });
}

export function rescanProcessor(service: Pick<RescanService, 'run'>, redis: Redis, prefix: string, logger: Logger): (job: Job) => Promise<unknown> {
  return async () => {
    // Longer than a run should take; released at once when it ends.
    const runs = await withLock(redis, `${prefix}:lock:rescan`, 3600_000, () => service.run());
    if (runs === null) {
      logger.info('a rescan run is already going on another worker; skipped');
      return { skipped: true };
    }
    return { scanners: runs.map((r) => ({ scanner: r.scanner, rescanned: r.rescanned.length, changed: r.changed.length, deferred: r.deferred })) };
  };
}
