/**
 * From configuration to clients. An image's registry is reached only through the endpoint
 * configured for it in `upstreams` (the reverse proxy); a registry that is not listed can
 * never be reached (UPSTREAM_NOT_ALLOWED). The internal registry is reached at its URL.
 * Clients are created once per registry and reused (their connection pools with them).
 */
import type { Config, UpstreamConfig } from '../lib/config';
import { AppError } from '../lib/errors';
import { rootLogger, type Logger } from '../lib/logger';
import { DistributionClient, type ClientOptions } from './client';
import { normalizeRegistryHost, parseReference, type ImageRef } from './reference';
import type { StagedBlobs } from './staged-blobs';
import type { UploadJournal } from './types';

export interface ResolverOptions {
  logger?: Logger;
  /** For HTTPS_PROXY/NO_PROXY. @defaultValue process.env */
  env?: NodeJS.ProcessEnv;
  /** Idle socket timeout of every client. @defaultValue 60000 */
  timeoutMs?: number;
  /** Notes the internal registry's open upload sessions (see UploadJournal). @defaultValue none */
  uploadJournal?: UploadJournal;
  /**
   * Blobs just uploaded to the internal registry, read back from memory by the scan that
   * follows (./staged-blobs.ts); main.ts sets it from `copy.keepStagedMb`. @defaultValue none
   */
  stagedBlobs?: StagedBlobs | null;
}

/** Hands out registry clients; the intake pipeline and the movers take one of these. */
export interface ClientProvider {
  /** The client for the registry of `ref` (an upstream, or the internal registry). */
  clientFor(ref: ImageRef | string): DistributionClient;
}

function credentials(c: { username?: string; password?: string }): ClientOptions['credentials'] {
  return c.username !== undefined && c.password !== undefined ? { username: c.username, password: c.password } : undefined;
}

export class UpstreamResolver implements ClientProvider {
  private readonly clients = new Map<string, DistributionClient>();
  private readonly upstreams: Map<string, UpstreamConfig>;
  private readonly internalHosts: Set<string>;
  private readonly logger: Logger;

  constructor(private readonly config: Pick<Config, 'upstreams' | 'internalRegistry'>, private readonly options: ResolverOptions = {}) {
    this.logger = options.logger ?? rootLogger().child({ module: 'registry' });
    this.upstreams = new Map(config.upstreams.map((u) => [normalizeRegistryHost(u.registry), u]));
    const internal = config.internalRegistry;
    this.internalHosts = new Set([new URL(internal.url).host, ...(internal.publicHost ? [internal.publicHost] : [])].map(normalizeRegistryHost));
  }

  /** The configured upstream for a registry host, if any. */
  upstream(registry: string): UpstreamConfig | undefined {
    return this.upstreams.get(normalizeRegistryHost(registry));
  }

  /** Whether `registry` is the internal registry's host. */
  isInternal(registry: string): boolean {
    return this.internalHosts.has(normalizeRegistryHost(registry));
  }

  /**
   * The client for the registry of `ref`: the internal registry, or an upstream through its endpoint.
   * @throws AppError UPSTREAM_NOT_ALLOWED for any other registry.
   */
  clientFor(ref: ImageRef | string): DistributionClient {
    const registry = typeof ref === 'string' ? parseReference(ref).registry : ref.registry;
    if (this.isInternal(registry)) return this.internal();
    return this.upstreamClient(registry);
  }

  /** The client of an upstream registry, through its configured endpoint only. */
  upstreamClient(registry: string): DistributionClient {
    const key = normalizeRegistryHost(registry);
    const up = this.upstreams.get(key);
    if (!up) {
      throw new AppError('UPSTREAM_NOT_ALLOWED', `registry ${registry} is not an allowed upstream (configured: ${[...this.upstreams.keys()].join(', ') || 'none'})`, {
        details: { registry },
      });
    }
    return this.cached(`upstream:${key}`, () => ({
      url: up.endpoint, registryHost: up.registry, endpointOnly: true, credentials: credentials(up),
      insecure: up.insecure, caFile: up.caFile, proxy: up.proxy,
    }));
  }

  /** The client of the internal registry. */
  internal(): DistributionClient {
    const r = this.config.internalRegistry;
    return this.cached('internal', () => ({
      url: r.url, credentials: credentials(r), insecure: r.insecure, caFile: r.caFile, uploadJournal: this.options.uploadJournal,
      stagedBlobs: this.options.stagedBlobs ?? undefined,
    }));
  }

  /** Closes every client's connections. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private cached(key: string, make: () => ClientOptions): DistributionClient {
    let client = this.clients.get(key);
    if (!client) {
      client = new DistributionClient({ ...make(), env: this.options.env, timeoutMs: this.options.timeoutMs, logger: this.logger });
      this.clients.set(key, client);
    }
    return client;
  }
}
