/**
 * Runs the sweep of stuck requests (src/intake/sweep.ts) periodically in every worker. Several
 * workers sweeping at once is harmless (queuing a live job is a no-op), so there is no lock.
 */
import type { Pipeline } from '../src/intake';
import type { Logger } from '../src/lib/logger';
import type { BullScheduler } from './scheduler';

/** How often a worker looks for stuck requests. */
export const SWEEP_INTERVAL_MS = 60_000;

export interface SweepHandle {
  /** One sweep now; resolves to the ids queued. */
  runOnce(): Promise<string[]>;
  stop(): void;
}

export function startSweep(pipeline: Pipeline, jobs: BullScheduler, intervalMs: number, logger: Logger): SweepHandle {
  let running = false;
  const runOnce = async (): Promise<string[]> => {
    const ids = await pipeline.sweep(jobs);
    if (ids.length) logger.warn({ requestIds: ids, count: ids.length }, 'sweep: queued the next step of requests that had no job');
    return ids;
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runOnce().catch((err: unknown) => logger.error({ error: err }, 'sweep failed')).finally(() => { running = false; });
  }, intervalMs);
  // The sweep alone must not keep a process alive.
  timer.unref();
  return { runOnce, stop: () => clearInterval(timer) };
}
