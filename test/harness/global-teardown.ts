/** Jest global teardown: stops every service global setup started, then removes the run's temp folder. */
import { rmSync } from 'node:fs';

export default async function globalTeardown(): Promise<void> {
  const started = globalThis.__portcullisServices ?? [];
  await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  globalThis.__portcullisServices = [];
  const dir = globalThis.__portcullisRunDir;
  if (!dir) return;
  if (process.env.PORTCULLIS_KEEP_TEST_TMP === '1') {
    process.stderr.write(`test run folder kept: ${dir}\n`);
    return;
  }
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    // Tidying up is no test: a process that outlived its test and still writes there is named, not failed.
    process.stderr.write(`test run folder not removed: ${dir}: ${(err as Error).message}\n`);
  }
}
