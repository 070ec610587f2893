/**
 * The intake worker: one BullMQ Worker on the intake queue dispatching each job to its
 * step. Crash safety comes from BullMQ's stalled-job recovery (a job whose lock expired goes
 * back to the queue) plus idempotent steps, and from a periodic sweep that queues the next
 * step of requests left without a job (a crash between a save and its enqueue).
 */
import { Worker, type ConnectionOptions } from 'bullmq';
import type { Pipeline, PipelineStep } from '../src/intake';
import type { Logger } from '../src/lib/logger';
import { stepProcessor } from './job';
import { JOBS } from './jobs';
import { bullPrefix, INTAKE_QUEUE } from './names';
import { BullScheduler, type SchedulerOptions } from './scheduler';
import { startSweep, SWEEP_INTERVAL_MS } from './sweep';

export interface WorkerSettings {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  /** How often to look for requests stuck without a job. @defaultValue {@link SWEEP_INTERVAL_MS} */
  sweepIntervalMs?: number;
}

export interface WorkerHooks {
  /** Fairness of the sweep's own scheduler (see ./priority.ts). */
  scheduler?: SchedulerOptions;
  /** Told how long each step took and how it ended (metrics). */
  observeStep?: (step: PipelineStep, seconds: number, outcome: 'ok' | 'error') => void;
}

export function startIntakeWorker(connection: ConnectionOptions, redisPrefix: string, pipeline: Pipeline, settings: WorkerSettings, logger: Logger,
  hooks: WorkerHooks = {}): Worker {
  const log = logger.child({ module: 'worker' });
  // Each step is timed by the pipeline: a stage job may also run its scan.
  const processors = Object.fromEntries(Object.entries(JOBS).map(([step, spec]) => [step, stepProcessor(spec, pipeline, log, hooks.observeStep)]));
  const worker = new Worker(INTAKE_QUEUE, async (job, token) => {
    const processor = processors[job.name as PipelineStep];
    if (!processor) throw new Error(`unknown job ${job.name}`);
    await processor(job, token);
  }, {
    connection, prefix: bullPrefix(redisPrefix), concurrency: settings.concurrency,
    lockDuration: settings.lockDurationMs, stalledInterval: settings.stalledIntervalMs,
    // A job is handed back this many times after worker crashes before it is given up.
    maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => {
    log.warn({ error: err, 'job.name': job?.name, 'job.id': job?.id }, 'job failed');
    // A job given up after too many stalls never reached the processor's failure handling.
    if (job && /stalled more than/i.test(err.message)) {
      void pipeline.fail(String((job.data as { requestId?: string }).requestId), err).catch(() => undefined);
    }
  });
  // While Redis is away BullMQ reports every reconnect attempt of its connections here: the same
  // error is logged once a minute, not several times a second.
  const seen = new Map<string, number>();
  worker.on('error', (err) => {
    const last = seen.get(err.message) ?? -Infinity;
    if (Date.now() - last < 60_000) return;
    if (seen.size > 100) seen.clear();
    seen.set(err.message, Date.now());
    log.error({ error: err }, 'worker error');
  });
  const jobs = new BullScheduler(connection, redisPrefix, hooks.scheduler, log);
  const sweep = startSweep(pipeline, jobs, settings.sweepIntervalMs ?? SWEEP_INTERVAL_MS, log.child({ module: 'sweep' }));
  worker.once('closing', () => {
    sweep.stop();
    void jobs.close().catch(() => undefined);
  });
  return worker;
}
