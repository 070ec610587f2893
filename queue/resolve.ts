/** Job `resolve`: pins the request to the digest its reference names upstream (through the reverse proxy). */
import type { JobSpec } from './job';

export const resolveJob: JobSpec = {
  step: 'resolve',
  // Upstream hiccups are common (rate limits, 5xx): a few tries over about a minute.
  options: { attempts: 5, backoff: { type: 'exponential', delay: 2000 } },
};
