/**
 * Builds the configured Mover (config `mover`) once per process: the registry mover, or the
 * engine mover on a Docker Engine API reached over a unix socket or TCP (with TLS when files
 * are configured). main.ts passes the result wherever a Mover is needed.
 */
import { readFileSync } from 'node:fs';
import Dockerode from 'dockerode';
import { ConfigError, type Config, type MoverConfig } from '../../lib/config';
import type { Logger } from '../../lib/logger';
import type { Mover } from '../mover';
import { RegistryMover } from '../registry-mover';
import type { UpstreamResolver } from '../resolver';
import { EngineMover, type DestinationClient, type EngineCredentials } from './engine';

/** A mover and its start-up check. */
export interface ConfiguredMover {
  mover: Mover;
  /**
   * Resolves when the mover can work: pings the engine (the registry mover has nothing of its
   * own to check). Rejects with a ConfigError naming `mover.engineSocket`.
   */
  check(): Promise<void>;
}

/** How long the start-up ping may take: a TCP engine that drops packets would otherwise hang the start. */
const PING_TIMEOUT_MS = 10_000;

function readPem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`config: mover.${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/**
 * dockerode options for `mover.engineSocket`: a socket path, or host and port with HTTPS when
 * any TLS file is set (the schema allows TLS files with `tcp://` only, and cert and key only together).
 */
export function dockerOptions(m: MoverConfig): Dockerode.DockerOptions {
  const socket = m.engineSocket;
  if (!socket.startsWith('tcp://')) return { socketPath: socket.replace(/^unix:\/\//, '') };
  const url = new URL(socket);
  const tls = {
    ...(m.engineCaFile ? { ca: readPem('engineCaFile', m.engineCaFile) } : {}),
    ...(m.engineCertFile ? { cert: readPem('engineCertFile', m.engineCertFile) } : {}),
    ...(m.engineKeyFile ? { key: readPem('engineKeyFile', m.engineKeyFile) } : {}),
  };
  const https = Object.keys(tls).length > 0;
  return { host: url.hostname, port: Number(url.port), protocol: https ? 'https' : 'http', ...tls };
}

/** Credentials the engine sends per registry host: the internal registry's, or the upstream's. */
function engineCredentials(config: Config, resolver: UpstreamResolver): (registry: string) => EngineCredentials | undefined {
  return (registry) => {
    const c = resolver.isInternal(registry) ? config.internalRegistry : resolver.upstream(registry);
    return c?.username !== undefined && c.password !== undefined ? { username: c.username, password: c.password } : undefined;
  };
}

/**
 * An engine takes a registry host, never a URL: it pulls an upstream from the `host:port` of
 * its configured endpoint, which must therefore serve `/v2/` at its root.
 */
function pullHosts(config: Config, resolver: UpstreamResolver): (registry: string) => string {
  config.upstreams.forEach((up, i) => {
    if (new URL(up.endpoint).pathname.replace(/\/+$/, '') !== '') {
      throw new ConfigError(`config: upstreams[${i}].endpoint: the engine mover needs an endpoint serving /v2/ at its root, not ${up.endpoint}`);
    }
  });
  return (registry) => {
    const up = resolver.upstream(registry);
    return up ? new URL(up.endpoint).host : registry;
  };
}

/**
 * The client of a bare registry host. Not `resolver.clientFor(host)`: a string there is parsed as
 * an image reference, and `127.0.0.1:5000` alone reads as the image `docker.io/library/127.0.0.1:5000`.
 */
function clientForHost(resolver: UpstreamResolver, registry: string): DestinationClient {
  return resolver.isInternal(registry) ? resolver.internal() : resolver.upstreamClient(registry);
}

/** The configured mover; the registry mover is also the engine mover's copier out of staging. */
export function createMover(config: Config, resolver: UpstreamResolver, logger: Logger): ConfiguredMover {
  // Staging judges index children by content (issue 8.1): what reaches quarantine is what the scanners can vouch for.
  const registryMover = new RegistryMover(
    resolver, { jobs: config.copy.jobs, retries: config.copy.retries, unscannableChildren: config.scanning.unscannableChildren }, logger.child({ module: 'copy' }),
  );
  if (config.mover.type === 'registry') return { mover: registryMover, check: async () => undefined };
  const docker = new Dockerode(dockerOptions(config.mover));
  const mover = new EngineMover({
    docker,
    destination: (registry) => clientForHost(resolver, registry),
    copier: registryMover,
    // Under the quarantine prefix, so the registry rules that hide quarantine hide staging too.
    stagingPrefix: `${config.internalRegistry.quarantinePrefix}/portcullis-engine-staging`,
    credentials: engineCredentials(config, resolver),
    pullHost: pullHosts(config, resolver),
    logger,
  });
  return { mover, check: () => pingEngine(docker, config.mover.engineSocket) };
}

async function pingEngine(docker: Dockerode, socket: string): Promise<void> {
  // @types/dockerode declares ping() without options; dockerode 4+ takes { abortSignal }.
  const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
  try {
    await ping({ abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
  } catch (err) {
    const e = err as { code?: string; name?: string; message?: string };
    const why = e.code ?? (e.name === 'AbortError' || e.name === 'TimeoutError' ? `no answer in ${PING_TIMEOUT_MS} ms` : (e.message ?? String(err)).split('\n')[0]);
    throw new ConfigError(`config: mover.engineSocket: the Docker engine at ${socket} does not answer a ping (${why})`);
  }
}
