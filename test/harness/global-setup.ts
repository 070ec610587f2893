/**
 * Jest global setup: starts real redis-server, two docker-registry instances (internal and
 * a stand-in "outside" upstream) and nginx as the reverse proxy in front of the upstream,
 * all on free loopback ports in temp folders. Their addresses reach the tests through
 * PORTCULLIS_TEST_SERVICES; global teardown stops them, whether tests passed or not.
 *
 * Every temp folder of the run (the services', each test's, and those of the processes they
 * start, which all follow TMPDIR) lies in one run folder, which global teardown removes: a run
 * leaves nothing in /tmp (about 100 MiB of registry and scanner data otherwise). Set
 * PORTCULLIS_KEEP_TEST_TMP=1 to keep it for a look after a failure; its path is printed then.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startNginx } from './nginx';
import { startRedis } from './redis';
import { startRegistry } from './registry';
import { tempDir, type Service } from './proc';
import type { TestServices } from './services';

declare global {
  // eslint-disable-next-line no-var
  var __portcullisServices: Service[] | undefined;
  // eslint-disable-next-line no-var
  var __portcullisRunDir: string | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Before anything starts: jest's workers and every child process inherit TMPDIR, and
  // os.tmpdir() reads it at each call. The Go build cache stays outside, shared between runs.
  const outer = os.tmpdir();
  process.env.PORTCULLIS_TEST_GOCACHE ??= path.join(outer, 'pcs-gocache');
  globalThis.__portcullisRunDir = mkdtempSync(path.join(outer, 'portcullis-test-'));
  process.env.TMPDIR = globalThis.__portcullisRunDir;
  const started: Service[] = [];
  globalThis.__portcullisServices = started;
  const [redis, internal, upstream] = await Promise.all([
    startRedis(),
    startRegistry({ name: 'internal-registry' }),
    startRegistry({ name: 'upstream-registry' }),
  ]);
  started.push(redis, internal, upstream);
  const proxy = await startNginx({ upstream: upstream.url, name: 'upstream-proxy' });
  started.push(proxy);
  const svc: TestServices = {
    redis: { url: redis.url },
    internal: { url: internal.url, host: internal.host },
    upstream: { url: upstream.url, host: upstream.host },
    proxy: { url: proxy.url, host: proxy.host, accessLog: proxy.accessLog },
    tmp: tempDir('run'),
  };
  process.env.PORTCULLIS_TEST_SERVICES = JSON.stringify(svc);
  // The audit log refuses to run without its key (fail closed): one random key per test run.
  process.env.PORTCULLIS_AUDIT_KEY ??= `test:${randomBytes(32).toString('base64')}`;
}
