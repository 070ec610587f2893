/**
 * The console's sign-in with the bank's OpenID provider (issue 14.1): the authorization-code flow
 * with PKCE (S256), state and nonce, and the refresh-token grant, through openid-client (a
 * certified relying party: discovery, the token endpoint, ID token validation against the JWKS —
 * iss, aud, exp, iat, nonce, at_hash — are its job, not ours). Each sign-in and each refresh maps
 * the ID token's groups with {@link oidcPrincipal}, the mapping bearer JWTs use, so the console and
 * the API agree on what a person may do.
 *
 * openid-client 6 is ESM only; Node 20.19+ loads it from our CommonJS build with require(esm), and
 * jest compiles it with swc like jose (jest.config.js).
 */
import * as oidc from 'openid-client';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import type { OidcConfig } from './config';
import { oidcPrincipal } from './oidc';

/** What the callback must match: kept on the server between the redirect and the callback. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The console path to land on after sign-in. */
  returnTo: string;
}

/** The tokens a console session keeps (server side only), and when to refresh them. */
export interface OidcSessionTokens {
  /** For the provider's end_session endpoint (`id_token_hint`). */
  idToken: string;
  /** Absent when the provider issued none: the session then ends at `refreshAt`. */
  refreshToken?: string;
  /** Epoch ms: the next refresh is due (never later than the access token's expiry). */
  refreshAt: number;
}

export interface SignedIn {
  principal: Principal;
  tokens: OidcSessionTokens;
}

/** The client flow, as the session layer sees it. */
export interface OidcLoginClient {
  start(returnTo: string): Promise<{ url: string; pending: PendingLogin }>;
  finish(callbackUrl: URL, pending: PendingLogin): Promise<SignedIn>;
  /** New tokens and the principal recomputed from the groups they carry; throws when refused. */
  refresh(tokens: OidcSessionTokens, subject: string): Promise<SignedIn>;
  /** The provider's end_session URL for this sign-in, or null when it has none. */
  endSessionUrl(idToken: string, postLogoutRedirectUri: string): Promise<string | null>;
}

export interface OidcLoginOptions {
  /** The client secret (from `auth.oidc.clientSecretEnv`); unset: a public client (PKCE only). */
  clientSecret?: string;
  /** @defaultValue Date.now */
  now?: () => number;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

type Tokens = oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;

export class OidcLogin implements OidcLoginClient {
  private configuration?: Promise<oidc.Configuration>;
  private readonly now: () => number;

  constructor(private readonly config: OidcConfig & { redirectUri: string }, private readonly options: OidcLoginOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** Discovery once; a failure is forgotten so that the next sign-in tries again. */
  private client(): Promise<oidc.Configuration> {
    this.configuration ??= this.discover().catch((err: unknown) => {
      this.configuration = undefined;
      throw err;
    });
    return this.configuration;
  }

  private async discover(): Promise<oidc.Configuration> {
    const { issuer, clientId } = this.config;
    const auth = this.options.clientSecret ? oidc.ClientSecretBasic(this.options.clientSecret) : oidc.None();
    try {
      return await oidc.discovery(new URL(issuer), clientId, this.options.clientSecret ? { client_secret: this.options.clientSecret } : undefined, auth, {
        timeout: (this.options.timeoutMs ?? 10_000) / 1000,
        // The config schema allows http:// only on loopback (a local provider, the tests).
        ...(issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
    } catch (err) {
      throw new AppError('ISSUER_UNAVAILABLE', `the identity provider ${issuer} could not be reached`, { cause: err, temporary: true });
    }
  }

  async start(returnTo: string): Promise<{ url: string; pending: PendingLogin }> {
    const client = await this.client();
    const pending: PendingLogin = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier(), returnTo };
    const url = oidc.buildAuthorizationUrl(client, {
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url: url.href, pending };
  }

  async finish(callbackUrl: URL, pending: PendingLogin): Promise<SignedIn> {
    const client = await this.client();
    let tokens: Tokens;
    try {
      tokens = await oidc.authorizationCodeGrant(client, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true,
      });
    } catch (err) {
      throw refused(err, 'sign-in');
    }
    return this.signedIn(tokens, undefined);
  }

  async refresh(tokens: OidcSessionTokens, subject: string): Promise<SignedIn> {
    if (!tokens.refreshToken) throw new AppError('OIDC_SIGNIN_FAILED', 'the provider issued no refresh token: sign in again');
    const client = await this.client();
    let fresh: Tokens;
    try {
      fresh = await oidc.refreshTokenGrant(client, tokens.refreshToken);
    } catch (err) {
      throw refused(err, 'refresh');
    }
    return this.signedIn(fresh, { previous: tokens, subject });
  }

  /** The principal of the response's groups (the ID token's, else userinfo's), and what to keep. */
  private async signedIn(tokens: Tokens, refreshing: { previous: OidcSessionTokens; subject: string } | undefined): Promise<SignedIn> {
    let claims: Record<string, unknown> | undefined = tokens.claims();
    if (!claims && refreshing) {
      // A provider that sends no ID token on refresh: read the groups from userinfo.
      const sub = refreshing.subject.slice(refreshing.subject.lastIndexOf('#') + 1);
      try {
        claims = await oidc.fetchUserInfo(await this.client(), tokens.access_token, sub);
      } catch (err) {
        throw refused(err, 'refresh');
      }
    }
    if (!claims) throw new AppError('OIDC_SIGNIN_FAILED', 'the provider sent no ID token');
    const principal = oidcPrincipal(this.config, claims);
    if (refreshing && principal.subject !== refreshing.subject) throw new AppError('OIDC_SIGNIN_FAILED', 'the provider answered the refresh for another user');
    const lifetime = Math.min(this.config.sessionRefreshSeconds, tokens.expiresIn() ?? this.config.sessionRefreshSeconds);
    return {
      principal,
      tokens: {
        idToken: tokens.id_token ?? refreshing!.previous.idToken,
        // A provider that does not rotate refresh tokens answers without one: the old one stays.
        ...(tokens.refresh_token ?? refreshing?.previous.refreshToken ? { refreshToken: tokens.refresh_token ?? refreshing?.previous.refreshToken } : {}),
        refreshAt: this.now() + Math.max(1, lifetime) * 1000,
      },
    };
  }

  async endSessionUrl(idToken: string, postLogoutRedirectUri: string): Promise<string | null> {
    const client = await this.client();
    if (!client.serverMetadata().end_session_endpoint) return null;
    return oidc.buildEndSessionUrl(client, { id_token_hint: idToken, post_logout_redirect_uri: postLogoutRedirectUri }).href;
  }
}

/** A refusal by the provider (or a response that fails validation) as one code; the cause is logged, not shown. */
function refused(err: unknown, what: string): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError) {
    return new AppError('OIDC_SIGNIN_FAILED', `the identity provider refused the ${what}: ${err.error}`, { cause: err });
  }
  if (err instanceof oidc.ClientError) return new AppError('OIDC_SIGNIN_FAILED', `the identity provider's answer to the ${what} is not valid`, { cause: err });
  return new AppError('ISSUER_UNAVAILABLE', `the identity provider could not be reached for the ${what}`, { cause: err, temporary: true });
}
