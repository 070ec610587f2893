/**
 * Where a URL the registry hands us (a token realm, a blob redirect, an upload Location)
 * is actually fetched. An upstream must be reached only through its configured endpoint
 * (the reverse proxy), yet registries point elsewhere: Docker Hub's token realm is
 * auth.docker.io and its blobs redirect to a CDN. The rule, in order:
 *
 * 1. same origin as the endpoint → as is;
 * 2. the host users write for this registry (e.g. a realm `https://ghcr.io/token` for
 *    ghcr.io) → the same path on the endpoint;
 * 3. a client not restricted to its endpoint (the internal registry, the CLI) → as is;
 * 4. a forward proxy applies (the upstream's `proxy`, or HTTPS_PROXY minus NO_PROXY) →
 *    as is, through that proxy (a CONNECT tunnel: TLS stays end to end);
 * 5. otherwise → `{endpoint}/.portcullis/{scheme}/{host}{path}?{query}` on the endpoint,
 *    which the reverse proxy maps back to `{scheme}://{host}{path}`. For Docker Hub:
 *
 *        location /.portcullis/https/auth.docker.io/ {
 *          proxy_pass https://auth.docker.io/;  proxy_set_header Host auth.docker.io;
 *          proxy_ssl_server_name on;
 *        }
 *
 * Only cases 1 and 2 are "the registry": the registry's Authorization is sent to nothing
 * else (a redirect to object storage must not carry it).
 */
import { normalizeRegistryHost } from './reference';
import type { Transport } from './transport';

export interface Route {
  url: URL;
  /** Whether this is the registry itself (its credentials may be sent). */
  registry: boolean;
}

export interface RouterOptions {
  /** The URL this client talks to (an upstream's endpoint, or a registry's own URL). */
  base: URL;
  /** The registry host users write (`docker.io`), when reached through an endpoint. */
  registryHost?: string;
  /** Reach nothing but the endpoint (upstreams). @defaultValue false */
  endpointOnly?: boolean;
}

/** Path prefix on the endpoint under which the reverse proxy serves other hosts (case 5). */
export const FOREIGN_PREFIX = '/.portcullis';

export class Router {
  private readonly basePath: string;

  constructor(private readonly options: RouterOptions, private readonly transport: Transport) {
    this.basePath = options.base.pathname.replace(/\/+$/, '');
  }

  route(target: URL): Route {
    const { base, registryHost, endpointOnly } = this.options;
    if (target.origin === base.origin) return { url: new URL(target.href), registry: true };
    if (registryHost && normalizeRegistryHost(target.host) === normalizeRegistryHost(registryHost)) {
      return { url: new URL(`${this.basePath}${target.pathname}${target.search}`, base.origin), registry: true };
    }
    if (!endpointOnly || this.transport.proxied(target)) return { url: new URL(target.href), registry: false };
    const scheme = target.protocol.replace(':', '');
    return { url: new URL(`${this.basePath}${FOREIGN_PREFIX}/${scheme}/${target.host}${target.pathname}${target.search}`, base.origin), registry: false };
  }
}
