/**
 * Jest global setup: starts real redis-server, two docker-registry instances (internal and
 * a stand-in "outside" upstream) and nginx as the reverse proxy in front of the upstream,
 * all on free loopback ports in temp folders. Their addresses reach the tests through
 * PORTCULLIS_TEST_SERVICES; global teardown stops them, whether tests passed or not.
 */
import { randomBytes } from 'node:crypto';
import { startNginx } from './nginx';
import { startRedis } from './redis';
import { startRegistry } from './registry';
import { tempDir, type Service } from './proc';
import type { TestServices } from './services';

declare global {
  // eslint-disable-next-line no-var
  var __portcullisServices: Service[] | undefined;
}

export default async function globalSetup(): Promise<void> {
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
