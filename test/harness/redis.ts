/** A real redis-server on a free loopback port, in its own folder, persistence off. */
import { ensureDir, freePort, portOpen, startProcess, tempDir, type Service } from './proc';

export interface RedisService extends Service {
  url: string;
  port: number;
}

export interface RedisOptions {
  /** AOF persistence (the local stack keeps its state across runs). @defaultValue false */
  appendonly?: boolean;
  /** Fixed port; a free one by default. */
  port?: number;
  /** Folder for data and log; a new temp folder by default. */
  dir?: string;
  /** More redis-server arguments (e.g. `--replicaof host port`). */
  args?: string[];
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisService> {
  const dir = options.dir ? ensureDir(options.dir) : tempDir('redis');
  const port = options.port ?? (await freePort());
  const svc = await startProcess({
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', options.appendonly ? 'yes' : 'no', '--protected-mode', 'yes', ...(options.args ?? [])],
    dir,
    ready: () => portOpen(port),
  });
  return { ...svc, url: `redis://127.0.0.1:${port}`, port };
}
