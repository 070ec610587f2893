/**
 * The sweep of stuck requests. A request in a pipeline state (`requested`, `resolving`,
 * `staging`, `scanning`, `promoting`) must always have the job of its next step queued,
 * delayed or running. A crash between a save and the enqueue that follows it, an enqueue that
 * failed, or a job given up while the request was not marked failed breaks that, and nothing
 * else would ever move the request again (its dedup claim held forever). The sweep finds such
 * requests and queues their next step. It is idempotent (job ids are derived from step and
 * request, and every step re-checks the state) and bounded by the number of steps it queues
 * per run, not by the number of requests it looks at: it pages through every pipeline state,
 * oldest first, so a stuck request behind any number of requests with live jobs is reached.
 */
import type { RequestStore } from '../store/types';
import { nextStep, PIPELINE_STATES } from './lifecycle';
import type { JobInspector, JobScheduler } from './ports';

export interface SweepOptions {
  /** Requests read per page while walking a state. @defaultValue 100 */
  pageSize?: number;
  /** Steps queued per run at most; the rest are queued by the next run. @defaultValue 100 */
  maxSchedules?: number;
  /**
   * Requests saved more recently than this are left alone: their own enqueue is probably
   * just happening. Queuing them anyway would be harmless, only wasted work.
   * @defaultValue 30000
   */
  minAgeMs?: number;
  /** @defaultValue the system clock */
  now?: () => number;
}

/** Queues the next step of every stuck request it finds; returns the ids it queued. */
export async function sweepStuck(requests: RequestStore, jobs: JobScheduler & JobInspector, options: SweepOptions = {}): Promise<string[]> {
  const pageSize = options.pageSize ?? 100;
  const maxSchedules = options.maxSchedules ?? 100;
  const cutoff = (options.now ?? Date.now)() - (options.minAgeMs ?? 30_000);
  const scheduled: string[] = [];
  for (const status of PIPELINE_STATES) {
    const step = nextStep(status);
    if (!step) continue;
    // Oldest first, every page: requests with live jobs must not hide a stuck one behind them.
    let cursor: string | undefined;
    do {
      const page = await requests.list({ teams: '*', status, limit: pageSize, order: 'asc', ...(cursor ? { cursor } : {}) });
      for (const r of page.items) {
        if (r.status !== status || Date.parse(r.updatedAt) > cutoff) continue;
        if (await jobs.isLive(step, r.id)) continue;
        // A stage job goes straight on into its scan (worker.scanAfterStage): while it lives, the
        // request is `scanning` with no scan job of its own, and is not stuck.
        if (step === 'scan' && await jobs.isLive('stage', r.id)) continue;
        if (scheduled.length >= maxSchedules) return scheduled;
        await jobs.schedule(step, r.id, r.team);
        scheduled.push(r.id);
      }
      cursor = page.next ?? undefined;
    } while (cursor);
  }
  return scheduled;
}
