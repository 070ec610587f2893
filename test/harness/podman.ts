/**
 * A real Podman API service (`podman system service`), the stand-in for a Docker daemon in
 * engine-mover tests. Everything it reads or writes lives in one temp folder, selected by
 * environment variables, so a test run never touches the machine's own container config,
 * images or auth files:
 *
 * - CONTAINERS_CONF: cgroupfs (no systemd in CI containers), a file events log (no journald),
 *   host network namespace (pull and push start no container, so no netavark/slirp setup);
 * - CONTAINERS_STORAGE_CONF: the `vfs` driver, which works as root in any container without
 *   fuse or overlay mounts (slow for big images, irrelevant for the small test images);
 * - CONTAINERS_REGISTRIES_CONF: the loopback registries given by the test marked `insecure`
 *   (plain HTTP), no unqualified search registries (a short name must never reach docker.io);
 * - lock_type "file": locks under tmp_dir; the default SHM segment /dev/shm/libpod_lock is one per
 *   machine, so two services (parallel test files) with different settings would clash on it;
 * - XDG_RUNTIME_DIR, TMPDIR: auth file, locks and temporary layers in the same folder.
 *
 * - /var/lib: podman (as root) keeps its blob-info cache in /var/lib/containers/cache whatever
 *   the config says. The service runs in its own mount namespace (`unshare -m`) with an overlay
 *   on /var/lib whose writes land in the temp folder, so that cache is per service: no global
 *   state, and no run can reuse compressed blobs a previous run recorded (which would change
 *   the digests podman pushes). Without overlay support (e.g. /tmp itself on overlayfs) the
 *   service still starts, and the log says the cache is the global one.
 *
 * Signature policy stays the system one (/etc/containers/policy.json from the Debian package
 * golang-github-containers-common): podman reads it from a fixed path, not from the env.
 */
import { mkdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startProcess, tempDir, waitFor, type Service } from './proc';

export interface PodmanService extends Service {
  /** Path of the Docker-compatible API socket, for `new Dockerode({ socketPath })`. */
  socketPath: string;
}

export interface PodmanOptions {
  /** `host:port` of registries podman may reach over plain HTTP (the harness registries). */
  insecureRegistries: string[];
  name?: string;
}

/** TOML string literal: JSON escaping is a valid TOML basic string for paths and hosts. */
const toml = (s: string): string => JSON.stringify(s);

export function podmanConfigs(dir: string, insecureRegistries: string[]): Record<string, string> {
  const d = (n: string) => path.join(dir, n);
  const containersConf = `
[containers]
netns = "host"
cgroups = "disabled"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = ${toml(d('events.log'))}
tmp_dir = ${toml(d('tmp'))}
volume_path = ${toml(d('volumes'))}
# File locks in tmp_dir, not the machine-wide /dev/shm/libpod_lock that every podman shares.
lock_type = "file"

[network]
network_config_dir = ${toml(d('networks'))}
`;
  const storageConf = `
[storage]
driver = "vfs"
graphroot = ${toml(d('storage'))}
runroot = ${toml(d('runroot'))}
`;
  const registriesConf = [
    'unqualified-search-registries = []',
    ...insecureRegistries.map((host) => `\n[[registry]]\nlocation = ${toml(host)}\ninsecure = true`),
    '',
  ].join('\n');
  return { containersConf, storageConf, registriesConf };
}

/**
 * $1 is the temp folder, $2 the socket URL. In a private mount namespace when the machine allows
 * one (root with CAP_SYS_ADMIN); otherwise (an unprivileged CI container) podman runs as it is.
 * Every step ends in `exec`, so the service's pid is podman's and stop() signals podman itself.
 */
const SERVICE_SCRIPT = `
if [ -z "$PORTCULLIS_PODMAN_NS" ] && unshare --mount --propagation private true 2>/dev/null; then
  export PORTCULLIS_PODMAN_NS=1
  exec unshare --mount --propagation private -- sh -c "$0" "$0" "$1" "$2"
fi
if [ -z "$PORTCULLIS_PODMAN_NS" ] || ! mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$1/varlib-upper,workdir=$1/varlib-work" /var/lib; then
  echo "portcullis harness: no overlay on /var/lib; podman's blob-info cache is the global /var/lib/containers/cache"
fi
exec podman system service --time=0 "$2"
`;

/** Starts `podman system service` on a unix socket in a fresh temp folder. */
export async function startPodman(options: PodmanOptions): Promise<PodmanService> {
  const name = options.name ?? 'podman';
  const dir = tempDir(name);
  for (const sub of ['tmp', 'run', 'storage', 'runroot', 'networks', 'volumes', 'varlib-upper', 'varlib-work']) mkdirSync(path.join(dir, sub), { recursive: true });
  const confs = podmanConfigs(dir, options.insecureRegistries);
  const files = {
    CONTAINERS_CONF: path.join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(dir, 'registries.conf'),
  };
  writeFileSync(files.CONTAINERS_CONF, confs.containersConf);
  writeFileSync(files.CONTAINERS_STORAGE_CONF, confs.storageConf);
  writeFileSync(files.CONTAINERS_REGISTRIES_CONF, confs.registriesConf);
  const socketPath = path.join(dir, 'podman.sock');
  const svc = await startProcess({
    name,
    command: 'sh',
    // --time=0: never exit on idle; the test stops it. A socket in the temp folder, not /run/podman.
    args: ['-c', SERVICE_SCRIPT, SERVICE_SCRIPT, dir, `unix://${socketPath}`],
    dir,
    env: {
      ...files,
      XDG_RUNTIME_DIR: path.join(dir, 'run'),
      XDG_CONFIG_HOME: path.join(dir, 'config'),
      XDG_DATA_HOME: path.join(dir, 'data'),
      TMPDIR: path.join(dir, 'tmp'),
      // Credentials come from the API request (X-Registry-Auth), never from an auth file.
      REGISTRY_AUTH_FILE: path.join(dir, 'auth.json'),
    },
    ready: () => pingSocket(socketPath),
  });
  return {
    ...svc,
    socketPath,
    async stop() {
      await svc.stop();
      // vfs keeps a full copy of every layer: remove the folder so repeated runs do not fill /tmp.
      // podman may leave read-only directories behind; rmSync with force handles them as root.
      await waitFor(async () => { rmSync(dir, { recursive: true, force: true }); return !existsSync(dir); }, `${name} cleanup`, 5000)
        .catch(() => undefined);
    },
  };
}

async function pingSocket(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return false;
  const http = await import('node:http');
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}
