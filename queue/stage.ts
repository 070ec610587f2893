/** Job `stage`: copies the pinned digest into quarantine (by digest, never tagged). */
import type { JobSpec } from './job';

export const stageJob: JobSpec = {
  step: 'stage',
  // The copy engine already retries each blob; these attempts cover a crash or a long outage.
  options: { attempts: 5, backoff: { type: 'exponential', delay: 5000 } },
};
