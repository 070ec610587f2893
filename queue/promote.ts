/** Job `promote`: mounts the approved digest into the approved path and tags it (idempotent). */
import type { JobSpec } from './job';

export const promoteJob: JobSpec = {
  step: 'promote',
  // An approved image must land: retry longer than the others.
  options: { attempts: 10, backoff: { type: 'exponential', delay: 3000 } },
};
