/**
 * The contract between producers (API, pipeline steps) and workers: one BullMQ queue for
 * the intake pipeline, one job name per step, job ids derived from step and request so that
 * adding a step twice while it is queued or running is a no-op.
 */
import type { PipelineStep } from '../src/intake';

export const INTAKE_QUEUE = 'intake';

/** BullMQ keys live under `{redis.prefix}:bull`, beside the store's keys. */
export function bullPrefix(redisPrefix: string): string {
  return `${redisPrefix}:bull`;
}

/** BullMQ refuses `:` in custom ids. */
export function jobId(step: PipelineStep, requestId: string): string {
  return `${step}-${requestId}`;
}

/** Housekeeping jobs (registry deletes after revocation, retention), apart from the pipeline. */
export const MAINTENANCE_QUEUE = 'maintenance';
