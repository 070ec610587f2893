/**
 * A real Distribution registry (Debian's docker-registry) on a free loopback port with its
 * storage in a temp folder. Deletes are enabled so that revocation can be tested.
 * `config` is merged over the base configuration, e.g. `{ auth: { htpasswd: {...} } }`.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ensureDir, freePort, portOpen, startProcess, tempDir, type Service } from './proc';

export interface RegistryService extends Service {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the host part of image references. */
  host: string;
  port: number;
  storageDir: string;
}

export interface RegistryOptions {
  name?: string;
  /** Merged over the base config (top-level keys replace). */
  config?: Record<string, unknown>;
  /** Fixed port; a free one by default. */
  port?: number;
  /** Folder for config, data and log; a new temp folder by default. */
  dir?: string;
}

export function registryConfig(port: number, storageDir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 0.1,
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storageDir }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: `127.0.0.1:${port}`, secret: `test-${port}-${Math.random().toString(36).slice(2)}` },
    ...extra,
  };
}

export async function startRegistry(options: RegistryOptions = {}): Promise<RegistryService> {
  const name = options.name ?? 'registry';
  const dir = options.dir ? ensureDir(options.dir) : tempDir(name);
  const port = options.port ?? (await freePort());
  const storageDir = path.join(dir, 'data');
  const configFile = path.join(dir, 'config.yml');
  writeFileSync(configFile, YAML.stringify(registryConfig(port, storageDir, options.config)));
  const svc = await startProcess({
    name,
    command: 'docker-registry',
    args: ['serve', configFile],
    dir,
    ready: () => portOpen(port),
  });
  return { ...svc, url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, port, storageDir };
}
