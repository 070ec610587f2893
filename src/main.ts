/**
 * The service entry point: `node dist/src/main.js [--role all|api|worker]`. Loads and
 * validates the configuration (a bad value stops here with one line naming the key), wires
 * implementations to interfaces, and starts the API, the workers, or both.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import Redis from 'ioredis';
import { createApp } from './api/app';
import type { ReadinessCheck } from './api/routes/health';
import { ConfigError, loadConfig, type Config } from './lib/config';
import { createLogger, setRootLogger, type Logger } from './lib/logger';
import { onShutdown, type ShutdownStep } from './lib/shutdown';

type Role = 'all' | 'api' | 'worker';

function parseRole(argv: string[]): Role {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } } });
  const role = values.role;
  if (role !== 'all' && role !== 'api' && role !== 'worker') throw new ConfigError(`--role must be all, api or worker, not '${role}'`);
  return role;
}

/** GET /v2/ answers 200, or 401 when the registry wants credentials: either way it is up. */
function registryCheck(url: string): ReadinessCheck {
  return {
    name: 'internalRegistry',
    async check() {
      const res = await fetch(new URL('/v2/', url), { signal: AbortSignal.timeout(2500) });
      await res.arrayBuffer();
      if (res.status !== 200 && res.status !== 401) throw new Error(`/v2/ answered ${res.status}`);
    },
  };
}

function redisCheck(redis: Redis): ReadinessCheck {
  return {
    name: 'redis',
    async check() {
      if ((await redis.ping()) !== 'PONG') throw new Error('no PONG');
    },
  };
}

async function startApi(config: Config, logger: Logger, redis: Redis): Promise<ShutdownStep> {
  const app = createApp({
    logger: logger.child({ module: 'api' }),
    readiness: [redisCheck(redis), registryCheck(config.internalRegistry.url)],
  });
  const server: Server = app.listen(config.server.port, config.server.host);
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
  logger.info({ 'server.address': config.server.host, 'server.port': port }, `API listening on http://${config.server.host}:${port}`);
  return {
    name: 'api',
    run: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeIdleConnections();
    }),
  };
}

async function main(): Promise<void> {
  const role = parseRole(process.argv.slice(2));
  const config = loadConfig();
  const logger = createLogger({ level: config.log.level, pretty: process.env.NODE_ENV === 'development' });
  setRootLogger(logger);
  const redis = new Redis(config.redis.url, { lazyConnect: true, maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.warn({ error: err }, 'redis connection error'));
  await redis.connect().catch((err: Error) => logger.warn({ error: err }, 'redis not reachable yet; retrying'));
  const steps: ShutdownStep[] = [];
  if (role !== 'worker') steps.push(await startApi(config, logger, redis));
  steps.push({ name: 'redis', run: async () => { await redis.quit(); } });
  onShutdown(logger, steps);
  logger.info({ role }, 'portcullis started');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`portcullis: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
