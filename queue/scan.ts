/** Job `scan`: runs the configured scanners on the quarantined digest and evaluates policy. */
import type { JobSpec } from './job';

export const scanJob: JobSpec = {
  step: 'scan',
  // A scanner may be restarting (SCANNER_UNAVAILABLE is temporary): give it a few minutes.
  options: { attempts: 6, backoff: { type: 'exponential', delay: 5000 } },
};
