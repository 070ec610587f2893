/** Start-up check of `audit.checkpointDir` for workers: created if missing, writable, or the process stops naming the key. */
import { access, constants, mkdir } from 'node:fs/promises';
import { ConfigError } from '../lib/config';
import type { Logger } from '../lib/logger';

export async function checkpointDirUsable(dir: string | undefined, logger: Logger): Promise<void> {
  if (!dir) {
    logger.warn({ 'event.action': 'audit.checkpoint' }, 'audit.checkpointDir is not set: signed checkpoints go to the log only; keep them (ELK) to detect a truncated or deleted audit log');
    return;
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new ConfigError(`config: audit.checkpointDir: cannot write ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
