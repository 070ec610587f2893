/**
 * Job priorities of the intake queue: later steps first, and fair across teams.
 *
 * BullMQ takes jobs of equal priority first in, first out. With one priority for every step, a
 * burst of N requests stages all N before it scans any, so nearly every request waits for the
 * whole burst. Ranking the steps (promote, then scan, then stage, then resolve) makes a request
 * that has started go on before a new one starts: requests finish in about the order they came.
 * Why priorities rather than one queue per step with weighted workers: one queue keeps one
 * worker concurrency to size (a slot is never idle on an empty step queue while another step
 * waits), job ids and the sweep stay as they are, and BullMQ orders prioritized jobs atomically
 * in Redis across every worker process.
 *
 * Within a step, a job's place is offset by its team's backlog when it was queued (how many of
 * the team's requests were then waiting for the same step): the k-th request of a team's burst
 * of 500 queues behind the first request of every other team, so one team's burst never holds
 * another team's single request behind it. Equal offsets keep arrival order.
 */
import type { PipelineStep } from '../src/intake';

/** Lower runs first; BullMQ's prioritized jobs take 1 … 2^21 - 1 (0 means "before every prioritized job"). */
const STEP_RANK: Record<PipelineStep, number> = { promote: 0, scan: 1, stage: 2, resolve: 3 };

/** Room for a team's backlog inside one step's band. */
const BAND = 2 ** 19;

/** The BullMQ priority of `step` for a job whose team had `backlog` jobs waiting for that step (0 for none). */
export function jobPriority(step: PipelineStep, backlog = 0): number {
  const offset = Math.min(Math.max(0, Math.floor(backlog)), BAND - 2);
  return 1 + STEP_RANK[step] * BAND + offset;
}
