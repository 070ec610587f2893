/**
 * A real Redis Sentinel set on loopback, each process in its own temp folder: a primary, a
 * replica and three `redis-sentinel`s (quorum 2) watching the primary, with a short
 * down-after so that a failover takes a few seconds. For the high-availability tests.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort, portOpen, startProcess, tempDir, waitFor, type Service } from './proc';
import { startRedis, type RedisService } from './redis';

export interface SentinelAddress { host: string; port: number }

export interface SentinelSet {
  /** The name the sentinels monitor the primary under (`redis.sentinelName`). */
  name: string;
  /** Their addresses (`redis.sentinels`). */
  sentinels: SentinelAddress[];
  /** The node that is primary at start, and its replica. */
  primary: RedisService;
  replica: RedisService;
  /** The primary's port as the sentinels currently report it. */
  currentPrimaryPort(): Promise<number>;
  /** SIGKILLs the node that is primary at start (no shutdown, no last save). */
  killPrimary(): Promise<void>;
  /**
   * Resolves once the sentinels name a primary other than `oldPort`, that node accepts writes,
   * and the old primary, when still running, has been turned into its replica.
   */
  waitForFailover(oldPort: number): Promise<number>;
  stop(): Promise<void>;
}

async function withClient<T>(port: number, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  try {
    await c.connect();
    return await f(c);
  } finally {
    c.disconnect();
  }
}

async function startSentinel(primaryPort: number, name: string): Promise<{ service: Service; port: number }> {
  const dir = tempDir('sentinel');
  const port = await freePort();
  const conf = path.join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file as it learns the set: it must be writable, one per sentinel.
  writeFileSync(conf, [
    `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
    `sentinel monitor ${name} 127.0.0.1 ${primaryPort} 2`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 10000`,
    `sentinel parallel-syncs ${name} 1`,
    '',
  ].join('\n'));
  const service = await startProcess({ name: 'redis-sentinel', command: 'redis-sentinel', args: [conf], dir, ready: () => portOpen(port) });
  return { service, port };
}

export async function startSentinelSet(name = 'portcullis'): Promise<SentinelSet> {
  const primary = await startRedis();
  const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
  await waitFor(() => withClient(replica.port, async (c) => /master_link_status:up/.test(await c.info('replication'))), 'the replica to sync');
  const started: Array<{ service: Service; port: number }> = [];
  for (let i = 0; i < 3; i++) started.push(await startSentinel(primary.port, name));
  const sentinels = started.map((s) => ({ host: '127.0.0.1', port: s.port }));
  // Ready when every sentinel knows the replica and the two other sentinels: a failover needs both.
  await waitFor(async () => {
    for (const s of sentinels) {
      const ok = await withClient(s.port, async (c) => {
        const [master] = (await c.call('SENTINEL', 'MASTERS')) as string[][];
        const field = (k: string) => master[master.indexOf(k) + 1];
        return field('num-slaves') === '1' && field('num-other-sentinels') === '2';
      });
      if (!ok) return false;
    }
    return true;
  }, 'the sentinels to discover the replica and each other', 30_000);

  const currentPrimaryPort = async (): Promise<number> => {
    for (const s of sentinels) {
      const addr = await withClient(s.port, (c) => c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as Promise<string[] | null>).catch(() => null);
      if (addr) return Number(addr[1]);
    }
    throw new Error('no sentinel answered');
  };

  return {
    name, sentinels, primary, replica, currentPrimaryPort,
    async killPrimary() {
      process.kill(primary.pid, 'SIGKILL');
      await waitFor(async () => !(await portOpen(primary.port)), 'the primary to die');
    },
    async waitForFailover(oldPort) {
      let port = oldPort;
      await waitFor(async () => {
        port = await currentPrimaryPort();
        if (port === oldPort) return false;
        if (!(await withClient(port, async (c) => /role:master/.test(await c.info('replication'))))) return false;
        if (!(await portOpen(oldPort))) return true;
        return withClient(oldPort, async (c) => new RegExp(`role:slave[\\s\\S]*master_port:${port}`).test(await c.info('replication')));
      }, 'the sentinels to promote the replica', 60_000);
      return port;
    },
    async stop() {
      await Promise.all([...started.map((s) => s.service.stop()), primary.stop(), replica.stop()]);
    },
  };
}
