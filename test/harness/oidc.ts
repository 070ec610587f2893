/**
 * Starts a real OpenID Provider (npm `oidc-provider`, see oidc-provider.mjs) on loopback for a
 * test file, and obtains real tokens from it: the authorization-code flow scripted end to end
 * (authorize → interaction → code → token endpoint), refresh, and client credentials.
 */
import path from 'node:path';
import { freePort, httpOk, startProcess, tempDir, type Service } from './proc';

export interface OidcClient {
  id: string;
  secret: string;
  redirectUri: string;
  /** Where the provider may send the browser after its end_session endpoint. @defaultValue none */
  postLogoutRedirectUris?: string[];
}
export interface OidcUser {
  groups: string[];
  username?: string;
  /** Typed on the provider's login page (browser tests); the scripted sign-in needs none. */
  password?: string;
}
export interface OidcTokens { id_token: string; access_token: string; refresh_token?: string }

export interface OidcProvider {
  issuer: string;
  /** The resource indicator (audience) of JWT access tokens. */
  resource: string;
  /** Signs `user` in through `client` with the authorization-code flow; the token endpoint's answer. */
  signIn(user: string, client?: OidcClient, scope?: string): Promise<OidcTokens>;
  /**
   * Follows an authorization URL (a relying party's, e.g. the console's) through the provider's
   * scripted login and consent as `user`; the redirect back to the client (code and state, or an error).
   */
  authorize(authorizationUrl: string, user: string, client?: OidcClient): Promise<URL>;
  refresh(refreshToken: string, client?: OidcClient): Promise<OidcTokens>;
  /** A client-credentials access token (a JWT for the resource). */
  clientCredentials(client?: OidcClient): Promise<string>;
  /** Changes a user's groups at the provider. */
  setGroups(user: string, groups: string[]): Promise<void>;
  stop(): Promise<void>;
}

const SCRIPT = path.join(__dirname, 'oidc-provider.mjs');

/** Token lifetimes in seconds (oidc-provider's `ttl`), for tests of refresh. */
export interface OidcTtl { AccessToken?: number; IdToken?: number; RefreshToken?: number }

export async function startOidcProvider(setup: { clients: OidcClient[]; users: Record<string, OidcUser>; resource?: string; ttl?: OidcTtl; port?: number }): Promise<OidcProvider> {
  const port = setup.port ?? await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const resource = setup.resource ?? 'https://portcullis.test';
  const service: Service = await startProcess({
    name: 'oidc-provider', command: process.execPath, args: [SCRIPT], dir: tempDir('oidc'),
    env: { OIDC_PORT: String(port), OIDC_SETUP: JSON.stringify({ ...setup, resource }) },
    ready: () => httpOk(`${issuer}/.well-known/openid-configuration`),
  });
  const [first] = setup.clients;

  const token = async (client: OidcClient, form: Record<string, string>): Promise<Record<string, string>> => {
    const res = await fetch(`${issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form),
    });
    const body = (await res.json()) as Record<string, string>;
    if (!res.ok) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };

  const authorize = async (authorizationUrl: string, user: string, client: OidcClient = first): Promise<URL> => {
    const cookies = new Map<string, string>();
    const start = new URL(authorizationUrl);
    start.searchParams.set('login_hint', user);
    let url = start.href;
    for (let hop = 0; hop < 12; hop++) {
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
      await res.arrayBuffer();
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair.indexOf('=');
        cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const location = res.headers.get('location');
      if (!location) throw new Error(`sign-in of ${user} stopped at ${res.status} ${url}`);
      const next = new URL(location, url);
      if (next.href.startsWith(client.redirectUri)) return next;
      url = next.href;
    }
    throw new Error(`sign-in of ${user}: too many redirects`);
  };

  return {
    issuer, resource,
    async signIn(user, client = first, scope = 'openid profile groups offline_access api') {
      const url = `${issuer}/auth?${new URLSearchParams({
        client_id: client.id, response_type: 'code', redirect_uri: client.redirectUri, scope, login_hint: user,
        resource, prompt: 'consent', state: 'test-state',
      })}`;
      const next = await authorize(url, user, client);
      const code = next.searchParams.get('code');
      if (!code) throw new Error(`sign-in of ${user} refused: ${next.search}`);
      return (await token(client, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, resource })) as unknown as OidcTokens;
    },
    authorize,
    async refresh(refreshToken, client = first) {
      return (await token(client, { grant_type: 'refresh_token', refresh_token: refreshToken, resource })) as unknown as OidcTokens;
    },
    async clientCredentials(client = first) {
      return (await token(client, { grant_type: 'client_credentials', scope: 'api', resource })).access_token;
    },
    async setGroups(user, groups) {
      const res = await fetch(`${issuer}/test/users/${encodeURIComponent(user)}`, { method: 'POST', body: JSON.stringify({ groups }) });
      if (res.status !== 204) throw new Error(`setGroups: ${res.status}`);
    },
    stop: () => service.stop(),
  };
}
