/**
 * What every intake job shares: the payload schema, retry defaults, and how a step's error
 * becomes a retry or a failed request. Temporary errors (registry 5xx/429, timeouts, a
 * scanner away, a store conflict) retry with exponential backoff; permanent ones (a bad
 * reference, an upstream not allowed, a digest mismatch) are UnrecoverableError and fail
 * the request at once with the error's code and message.
 */
import { DelayedError, UnrecoverableError, type Job, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import { RunInProgress, StepInProgress, type Pipeline, type PipelineStep, type StepObserver } from '../src/intake';
import { isAppError } from '../src/lib/errors';
import type { Logger } from '../src/lib/logger';

export const intakePayload = z.strictObject({
  requestId: z.string().min(1).max(100),
  /** How many times this job already waited for another run of the same digest. */
  waits: z.number().int().min(0).optional(),
});
export type IntakePayload = z.infer<typeof intakePayload>;

/** A step's retry policy. */
export interface JobSpec {
  step: PipelineStep;
  options: Pick<JobsOptions, 'attempts' | 'backoff'>;
}

/** First wait while another request runs the same digest for the same team. */
export const WAIT_FOR_RUN_MS = 5000;
/**
 * Longest wait between two checks. The other run may sit in awaiting_approval for days (it
 * holds the digest until it ends), so waits double up to this instead of polling every 5 s
 * forever.
 */
export const MAX_WAIT_FOR_RUN_MS = 10 * 60_000;

/** Delay before the `waits`-th re-check (0-based): 5 s, 10 s, 20 s, … capped at 10 min. */
export function waitDelay(waits: number): number {
  return Math.min(MAX_WAIT_FOR_RUN_MS, WAIT_FOR_RUN_MS * 2 ** Math.min(waits, 20));
}

/** Margin after a lease's expiry, and the shortest re-check (the holder may renew just before). */
export const STEP_RECHECK_MIN_MS = 250;

/**
 * Delay before re-checking a step whose lease another run holds: when that lease would lapse
 * unless renewed (a dead holder's step resumes then, not on the doubling schedule), a little
 * after it, and never later than {@link waitDelay}.
 */
export function stepWaitDelay(waits: number, retryInMs: number | undefined): number {
  if (retryInMs === undefined) return waitDelay(waits);
  return Math.min(waitDelay(waits), retryInMs + STEP_RECHECK_MIN_MS);
}

/** Not an AppError (a socket reset, a Redis blip): assume temporary. */
function isPermanent(err: unknown): boolean {
  return isAppError(err) && !err.temporary;
}

export type Processor = (job: Job, token?: string) => Promise<void>;

/** `observe`: told of every step the job ran (a stage job may go on into its scan: src/intake/pipeline.ts). */
export function stepProcessor(spec: JobSpec, pipeline: Pipeline, logger: Logger, observe?: StepObserver): Processor {
  return async (job, token) => {
    const { requestId, waits = 0 } = intakePayload.parse(job.data);
    const log = logger.child({ requestId, 'job.name': job.name, 'job.id': job.id, 'job.attempt': job.attemptsMade + 1 });
    try {
      await pipeline.run(spec.step, requestId, observe);
    } catch (err) {
      if (err instanceof RunInProgress) {
        const delay = err instanceof StepInProgress ? stepWaitDelay(waits, err.retryInMs) : waitDelay(waits);
        log.info({ holder: err.holderId, delayMs: delay, waits }, err.message);
        await job.updateData({ requestId, waits: waits + 1 });
        await job.moveToDelayed(Date.now() + delay, token);
        throw new DelayedError();
      }
      const attempts = job.opts.attempts ?? 1;
      const last = job.attemptsMade + 1 >= attempts;
      if (isAppError(err) && err.code === 'NOT_FOUND') throw new UnrecoverableError(err.message);
      if (isPermanent(err) || last) {
        await pipeline.fail(requestId, err);
        throw isPermanent(err) ? new UnrecoverableError((err as Error).message) : err;
      }
      log.warn({ error: err }, 'temporary failure: will retry');
      throw err;
    }
  };
}
