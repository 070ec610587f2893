/**
 * The role-hygiene job, in every worker: robot expiry warnings (14 days and 1 day before) and
 * expired robots disabled, then principals unused for `auth.inactiveDays` disabled and reported.
 * Several workers running it at once is harmless: each change is decided in one atomic step
 * (robot compare-and-set, HSETNX of the disabled subject), and only the worker that made it
 * publishes the event. Hourly: the thresholds are days, the work is a scan of small hashes.
 */
import type { Identity } from '../src/identity';
import type { Logger } from '../src/lib/logger';

/** How often a worker runs the job. */
export const IDENTITY_HYGIENE_INTERVAL_MS = 3_600_000;

export interface HygieneHandle {
  /** One run now: the robot events published and the subjects disabled. */
  runOnce(): Promise<{ robotEvents: string[]; disabled: string[] }>;
  stop(): void;
}

/** One run of the job: the robot events published and the subjects disabled. */
export async function runIdentityHygiene(identity: Pick<Identity, 'robots' | 'principals'>, logger: Logger): Promise<{ robotEvents: string[]; disabled: string[] }> {
  const robotEvents = (await identity.robots?.checkExpiry()) ?? [];
  const disabled = (await identity.principals?.disableInactive()) ?? [];
  if (robotEvents.length || disabled.length) logger.warn({ robotEvents, disabled }, 'identity hygiene: robots expiring or expired, inactive principals disabled');
  return { robotEvents, disabled };
}

export function startIdentityHygiene(identity: Pick<Identity, 'robots' | 'principals'>, logger: Logger, intervalMs = IDENTITY_HYGIENE_INTERVAL_MS): HygieneHandle {
  const runOnce = () => runIdentityHygiene(identity, logger);
  let running = false;
  const tick = (): void => {
    if (running) return;
    running = true;
    runOnce().catch((err: unknown) => logger.error({ error: err }, 'identity hygiene failed')).finally(() => { running = false; });
  };
  const timer = setInterval(tick, intervalMs);
  // The job alone must not keep a process alive.
  timer.unref();
  // A first run soon after start, so a worker restarted more often than hourly still runs it.
  const first = setTimeout(tick, 5_000);
  first.unref();
  return { runOnce, stop: () => { clearInterval(timer); clearTimeout(first); } };
}
