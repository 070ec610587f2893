/**
 * The request loop of one registry client: auth header per scope, one retry after a 401
 * (re-learning the challenge), redirects followed for reads (credentials only to the
 * registry itself, see routing.ts), and any unexpected status turned into a RegistryError.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { rootLogger, type Logger } from '../lib/logger';
import { Authenticator, type Credentials } from './auth';
import { errorFromResponse, RegistryError } from './errors';
import { Router } from './routing';
import { Transport, type TransportOptions } from './transport';

/** How one registry is reached. */
export interface SessionOptions extends TransportOptions {
  /** The URL requests go to: the registry, or the reverse proxy in front of it. */
  url: string;
  credentials?: Credentials;
  /** The registry's host as users write it, when `url` is a reverse proxy in front of it. */
  registryHost?: string;
  /** Reach nothing but `url` (upstreams; see routing.ts). @defaultValue false */
  endpointOnly?: boolean;
  logger?: Logger;
}

export interface Call {
  method: string;
  /** A path on the registry (`/v2/...`) or an absolute URL (an upload Location). */
  url: string | URL;
  scopes: string[];
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  /** Statuses that are success. */
  ok: number[];
  /** Answer null on 404 instead of throwing. */
  nullOn404?: boolean;
  /** Follow 3xx redirects (reads only). */
  follow?: boolean;
  signal?: AbortSignal;
  what: string;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class Session {
  readonly base: URL;
  readonly transport: Transport;
  readonly logger: Logger;
  private readonly router: Router;
  private readonly auth: Authenticator;
  private challenge?: Promise<void>;

  constructor(options: SessionOptions) {
    this.base = new URL(options.url.replace(/\/+$/, ''));
    this.logger = options.logger ?? rootLogger().child({ module: 'registry' });
    this.transport = new Transport(options);
    this.router = new Router({ base: this.base, registryHost: options.registryHost, endpointOnly: options.endpointOnly }, this.transport);
    this.auth = new Authenticator(this.transport, this.router, options.credentials, this.logger);
  }

  /** Learns the auth challenge from `GET /v2/` once (distribution-spec: the API version check). */
  ensureChallenge(): Promise<void> {
    this.challenge ??= (async () => {
      const res = await this.transport.send({ method: 'GET', url: new URL('/v2/', this.base) });
      res.resume();
      if (res.statusCode === 401) this.auth.learn(header(res, 'www-authenticate'));
      else if (res.statusCode === 200) this.auth.learn(undefined);
      else throw await errorFromResponse(res, `GET ${this.base.origin}/v2/`);
    })();
    this.challenge.catch(() => { this.challenge = undefined; });
    return this.challenge;
  }

  /** Performs a call; null only with `nullOn404` and a 404. */
  async call(c: Call): Promise<IncomingMessage | null> {
    await this.ensureChallenge();
    let target = typeof c.url === 'string' ? new URL(c.url, this.base) : c.url;
    let retriedAuth = false;
    for (let hop = 0; ; hop++) {
      const route = this.router.route(target);
      const headers = { ...c.headers };
      if (route.registry) {
        const authorization = await this.auth.authorization(c.scopes);
        if (authorization) headers.authorization = authorization;
      }
      const res = await this.transport.send({ method: c.method, url: route.url, headers, body: c.body, signal: c.signal });
      const status = res.statusCode ?? 0;
      if (status === 401 && route.registry && !retriedAuth && !isStream(c.body)) {
        res.resume();
        retriedAuth = true;
        this.auth.invalidate(c.scopes, header(res, 'www-authenticate'));
        hop--;
        continue;
      }
      if (c.follow && REDIRECTS.has(status) && hop < MAX_REDIRECTS) {
        const location = header(res, 'location');
        res.resume();
        if (!location) throw new RegistryError('REGISTRY_ERROR', `${c.what}: redirect without Location`, { httpStatus: status });
        target = new URL(location, route.url);
        continue;
      }
      if (c.ok.includes(status)) return res;
      if (status === 404 && c.nullOn404) {
        res.resume();
        return null;
      }
      throw await errorFromResponse(res, c.what);
    }
  }

  /** Performs a call that must succeed. */
  async must(c: Call): Promise<IncomingMessage> {
    const res = await this.call({ ...c, nullOn404: false });
    if (!res) throw new RegistryError('REGISTRY_ERROR', `${c.what}: not found`, { httpStatus: 404 });
    return res;
  }

  close(): void {
    this.transport.close();
  }
}

function isStream(body: unknown): boolean {
  return body !== undefined && !Buffer.isBuffer(body);
}

export function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
