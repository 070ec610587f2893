/**
 * Registry authentication: the `WWW-Authenticate` challenge of `/v2/` (distribution-spec
 * "Determining Support"), Basic credentials, and the Docker token flow (distribution
 * docs/spec/auth/token.md): GET {realm}?service=&scope= anonymously or with Basic
 * credentials, read `token` or `access_token`, and cache it per scope set until
 * `expires_in` (60 s when absent, as that spec says) runs out.
 *
 * Where the token realm is fetched (it is often another host: Docker Hub's is
 * auth.docker.io) is decided by {@link Router}: see routing.ts. Tokens and passwords never
 * appear in a log line or an error message.
 */
import { basicAuth } from '../lib/http';
import type { Logger } from '../lib/logger';
import { errorFromResponse, readLimited, RegistryError, safeUrl } from './errors';
import type { Router } from './routing';
import type { Transport } from './transport';

/** Username and password for a registry (Basic, or Basic at the token endpoint). */
export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: 'basic' | 'bearer';
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (RFC 9110 §11.6.1 auth-params). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme, params };
}

/** `repository:NAME:pull` / `repository:NAME:pull,push` (token.md "Requesting a Token"). */
export function repositoryScope(repository: string, actions: 'pull' | 'push'): string {
  return `repository:${repository}:${actions === 'push' ? 'pull,push' : 'pull'}`;
}

interface CachedToken {
  header: string;
  expiresAt: number;
}

/** A token this close to expiry is renewed rather than risked. */
const EXPIRY_MARGIN_MS = 5000;
/** Token responses are small JSON documents; refuse anything bigger. */
const MAX_TOKEN_BODY = 1024 * 1024;

export class Authenticator {
  private challenge: Challenge | null | undefined;
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly transport: Transport,
    private readonly router: Router,
    private readonly credentials: Credentials | undefined,
    private readonly logger: Logger,
  ) {}

  /** Whether the challenge of `/v2/` is known (null: the registry asked for none). */
  get known(): boolean {
    return this.challenge !== undefined;
  }

  /** Records what `/v2/` (or any 401) asked for. */
  learn(header: string | undefined): void {
    this.challenge = parseChallenge(header) ?? null;
  }

  /** The Authorization header for a request needing `scopes`, or undefined when none is needed. */
  async authorization(scopes: string[]): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.credentials) return undefined;
      return basicAuth(this.credentials.username, this.credentials.password);
    }
    const key = [...new Set(scopes)].sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached) {
      const token = await cached.catch(() => undefined);
      if (token && token.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return token.header;
    }
    const pending = this.fetchToken(c.params, key ? key.split(' ') : []);
    this.tokens.set(key, pending);
    pending.catch(() => this.tokens.delete(key));
    return (await pending).header;
  }

  /** After a 401: forget the cached token for these scopes and re-learn the challenge. */
  invalidate(scopes: string[], header: string | undefined): void {
    this.tokens.delete([...new Set(scopes)].sort().join(' '));
    if (header) this.learn(header);
  }

  private async fetchToken(params: Record<string, string>, scopes: string[]): Promise<CachedToken> {
    if (!params.realm) throw new RegistryError('REGISTRY_AUTH_FAILED', 'registry asked for a Bearer token without a realm');
    const route = this.router.route(new URL(params.realm));
    const url = route.url;
    if (params.service) url.searchParams.set('service', params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials) {
      headers.authorization = basicAuth(this.credentials.username, this.credentials.password);
    }
    const what = `token from ${safeUrl(url)}`;
    const res = await this.transport.send({ method: 'GET', url, headers });
    if (res.statusCode !== 200) {
      const err = await errorFromResponse(res, what);
      throw new RegistryError(err.temporary ? err.code : 'REGISTRY_AUTH_FAILED', err.message, {
        httpStatus: err.httpStatus, errors: err.errors, temporary: err.temporary, retryAfterMs: err.retryAfterMs,
      });
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await readLimited(res, MAX_TOKEN_BODY)).toString('utf8')) as typeof body;
    } catch {
      throw new RegistryError('REGISTRY_AUTH_FAILED', `${what}: the answer is not JSON`);
    }
    const token = typeof body.token === 'string' && body.token ? body.token
      : typeof body.access_token === 'string' && body.access_token ? body.access_token : undefined;
    if (!token) throw new RegistryError('REGISTRY_AUTH_FAILED', `${what}: the answer holds neither token nor access_token`);
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.logger.debug({ scopes, expiresIn, realm: safeUrl(url) }, 'registry token obtained');
    return { header: `Bearer ${token}`, expiresAt: Date.now() + expiresIn * 1000 };
  }
}
