/**
 * Graceful shutdown: on SIGTERM or SIGINT, run the registered steps in order (stop taking
 * requests, let running jobs finish or hand them back, close Redis), then exit. A second
 * signal, or a step that hangs past the deadline, exits at once.
 */
import type { Logger } from './logger';

export type ShutdownStep = { name: string; run: () => Promise<void> };

export function onShutdown(logger: Logger, steps: ShutdownStep[], deadlineMs = 30000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown deadline passed: exiting');
      process.exit(1);
    }, deadlineMs);
    timer.unref();
    let code = 0;
    for (const step of steps) {
      try {
        await step.run();
        logger.info({ step: step.name }, 'shutdown step done');
      } catch (err) {
        code = 1;
        logger.error({ step: step.name, error: err }, 'shutdown step failed');
      }
    }
    logger.info('stopped');
    process.exit(code);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
