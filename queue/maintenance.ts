/**
 * The maintenance worker: one BullMQ Worker on the maintenance queue, dispatching each job by
 * name (`unpublish`, `retention`) to its processor.
 */
import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from '../src/lib/logger';
import { bullPrefix, MAINTENANCE_QUEUE } from './names';

export type MaintenanceProcessors = Record<string, (job: Job) => Promise<unknown>>;

export function startMaintenanceWorker(connection: ConnectionOptions, redisPrefix: string, processors: MaintenanceProcessors, logger: Logger): Worker {
  const log = logger.child({ module: 'maintenance' });
  const worker = new Worker(MAINTENANCE_QUEUE, async (job) => {
    const processor = processors[job.name];
    if (!processor) throw new Error(`unknown maintenance job ${job.name}`);
    await processor(job);
  }, { connection, prefix: bullPrefix(redisPrefix), concurrency: 1 });
  worker.on('failed', (job, err) => log.warn({ error: err, 'job.name': job?.name, 'job.id': job?.id, 'job.attempt': job?.attemptsMade }, 'maintenance job failed'));
  worker.on('error', (err) => log.error({ error: err }, 'maintenance worker error'));
  return worker;
}
