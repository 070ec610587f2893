/** A real redis-server on a free loopback port, in its own folder, persistence off. */
import { freePort, portOpen, startProcess, tempDir, type Service } from './proc';

export interface RedisService extends Service {
  url: string;
  port: number;
}

export async function startRedis(options: { appendonly?: boolean } = {}): Promise<RedisService> {
  const dir = tempDir('redis');
  const port = await freePort();
  const svc = await startProcess({
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
      '--appendonly', options.appendonly ? 'yes' : 'no', '--protected-mode', 'yes'],
    dir,
    ready: () => portOpen(port),
  });
  return { ...svc, url: `redis://127.0.0.1:${port}`, port };
}
