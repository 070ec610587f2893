/**
 * The periodic drain every API and worker process runs: records that a Lua script wrote to the
 * outbox together with a state change are chained even when the process that wrote them died
 * before draining. Runs never overlap; a failing run is logged once per streak, not every tick.
 */
import type { Logger } from '../lib/logger';
import type { AuditLog } from './log';

export interface PeriodicDrain {
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startPeriodicDrain(log: Pick<AuditLog, 'drain'>, intervalMs: number, logger: Logger): PeriodicDrain {
  let running: Promise<void> | null = null;
  let failing = false;
  const tick = (): void => {
    if (running) return;
    running = log.drain().then(
      () => {
        if (failing) logger.info({ 'event.action': 'audit.drain', 'event.outcome': 'success' }, 'audit drain recovered');
        failing = false;
      },
      (err: unknown) => {
        if (!failing) logger.warn({ error: err, 'event.action': 'audit.drain', 'event.outcome': 'failure' }, 'audit drain failed; records stay in the outbox');
        failing = true;
      },
    ).finally(() => { running = null; });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
