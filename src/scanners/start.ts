/**
 * The scanners' start-up: build the configured adapters and run each one's check, in order.
 * A failing check stops the process with one line naming the scanner
 * (`config: scanners[0] (builtin): …`); an empty list is allowed, with a warning, for sites
 * that rely on approvers alone.
 */
import { ConfigError, type Config } from '../lib/config';
import { basicAuth } from '../lib/http';
import { scrubSecrets, type Logger } from '../lib/logger';
import { ScanThreadPool } from './builtin/threads/pool';
import { createScanners } from './create';
import type { RegistryAuthorization } from './remote';
import type { ScannerAdapter } from './types';

/**
 * How remote scanners (Clair, Harbor) authenticate to the internal registry to pull the
 * quarantined image: its configured credentials as Basic, or nothing for an anonymous
 * registry. The value goes to the scanner only; it is never logged.
 */
export function internalRegistryAuthorization(config: Pick<Config, 'internalRegistry'>): RegistryAuthorization {
  const { username, password } = config.internalRegistry;
  const header = username !== undefined && password !== undefined ? basicAuth(username, password) : undefined;
  return async () => header;
}

export async function startScanners(config: Config, logger: Logger): Promise<ScannerAdapter[]> {
  const log = logger.child({ module: 'scanners' });
  if (config.scanners.length === 0) {
    log.warn('no scanners configured: images are approved on the approvers\' judgement alone');
    return [];
  }
  const { scanThreads, scanThreadMemoryMb, scanTimeoutMs } = config.worker;
  const threads = new ScanThreadPool({ size: scanThreads === 'auto' ? undefined : scanThreads, memoryMb: scanThreadMemoryMb, timeoutMs: scanTimeoutMs });
  const scanners = createScanners(config.scanners, { registryAuthorization: internalRegistryAuthorization(config), logger: log }, threads);
  for (const [i, scanner] of scanners.entries()) {
    try {
      await scanner.check();
    } catch (err) {
      const message = scrubSecrets(err instanceof Error ? err.message : String(err)).split('\n')[0];
      throw new ConfigError(`config: scanners[${i}] (${scanner.name}): ${message}`);
    }
    log.info({ scanner: scanner.name, 'scanner.type': scanner.type, dbVersion: await scanner.dbVersion() }, 'scanner ready');
  }
  // The scan threads' start is the process's, not the first scans' (see ScanThreadPool.warm).
  // As many as the process runs scan jobs at once (worker.concurrency); more start on demand.
  if (config.scanners.some((s) => s.type === 'builtin')) {
    try {
      await threads.warm(config.worker.concurrency);
    } catch (err) {
      throw new ConfigError(`config: worker.scanThreadMemoryMb: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return scanners;
}
