/** Every intake job, by step. */
import type { PipelineStep } from '../src/intake';
import type { JobSpec } from './job';
import { promoteJob } from './promote';
import { resolveJob } from './resolve';
import { scanJob } from './scan';
import { stageJob } from './stage';

export const JOBS: Record<PipelineStep, JobSpec> = { resolve: resolveJob, stage: stageJob, scan: scanJob, promote: promoteJob };
