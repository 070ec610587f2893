// A real OpenID Provider for tests: the npm `oidc-provider` package (a certified implementation),
// on loopback, with test clients and users with groups. ESM (the package is), so it runs as its
// own process: `node oidc-provider.mjs` with OIDC_PORT and OIDC_SETUP (JSON: {clients, users,
// resource}). Sign-in is scripted: the interaction page logs in the user named by `login_hint`
// and grants what was asked, so a test runs the real authorization-code flow without a browser.
// Without a login_hint (a real browser, tests of the console's sign-in) the interaction shows plain
// HTML login and consent pages instead (no script, no outside asset), and so does end_session.
// POST /test/users/<id> {groups} changes a user's groups at the provider (loopback only).
import { createServer } from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const setup = JSON.parse(process.env.OIDC_SETUP);
const issuer = `http://127.0.0.1:${port}`;
const users = setup.users; // { id: { groups: [...] } }

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: setup.clients.map((c) => ({
    client_id: c.id, client_secret: c.secret, redirect_uris: [c.redirectUri], post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-cookie-key'] },
  scopes: ['openid', 'profile', 'groups', 'offline_access', 'api'],
  claims: { openid: ['sub'], profile: ['preferred_username'], groups: ['groups'] },
  // Put the asked-for claims in the ID token itself, as most enterprise providers do.
  conformIdTokenClaims: false,
  findAccount: (_ctx, id) => (users[id] ? {
    accountId: id,
    claims: () => ({ sub: id, preferred_username: users[id].username ?? id, groups: users[id].groups }),
  } : undefined),
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: (ctx, form) => { ctx.body = page('Sign out', `${form}<p>Sign out of the test provider?</p><button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`); },
      postLogoutSuccessSource: (ctx) => { ctx.body = page('Signed out', '<p>You are signed out.</p>'); },
    },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => setup.resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', audience: setup.resource, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  // JWT access tokens of people carry their groups too.
  extraTokenClaims: (_ctx, token) => (token.accountId && users[token.accountId]
    ? { groups: users[token.accountId].groups, preferred_username: users[token.accountId].username ?? token.accountId } : undefined),
  issueRefreshToken: () => true,
  pkce: { required: () => false },
  ttl: { AccessToken: 3600, IdToken: 3600, ClientCredentials: 3600, Grant: 3600, Session: 3600, Interaction: 600, RefreshToken: 86400, ...setup.ttl },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
});

provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path.startsWith('/test/users/')) {
    const id = decodeURIComponent(ctx.path.slice('/test/users/'.length));
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    users[id] = { ...users[id], ...JSON.parse(Buffer.concat(chunks).toString()) };
    ctx.status = 204;
    return;
  }
  const form = ctx.method === 'POST' && /^\/interaction\/[^/]+\/(login|confirm)$/.exec(ctx.path);
  if (form) {
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    const body = new URLSearchParams(Buffer.concat(chunks).toString());
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (form[1] === 'login') {
      const id = body.get('username') ?? '';
      if (!users[id] || body.get('password') !== (users[id].password ?? 'secret')) {
        ctx.type = 'html';
        ctx.body = loginPage(details.uid, 'Unknown user or wrong password.');
        return;
      }
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: id } }, { mergeWithLastSubmission: false });
    } else {
      await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: await grantAll(details) } }, { mergeWithLastSubmission: true });
    }
    return;
  }
  if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const accountId = details.params.login_hint;
    if (!accountId) {
      ctx.type = 'html';
      ctx.body = details.prompt.name === 'login' ? loginPage(details.uid) : page('Allow access', `<form method="post" action="/interaction/${details.uid}/confirm">
<p>${details.params.client_id} asks for: ${details.params.scope}</p><button type="submit">Allow</button></form>`);
      return;
    }
    let result;
    if (details.prompt.name === 'login') {
      if (!users[accountId]) { ctx.status = 403; ctx.body = 'unknown user'; return; }
      result = { login: { accountId } };
    } else {
      result = { consent: { grantId: await grantAll(details) } };
    }
    await provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: true });
    return;
  }
  await next();
});

/** Grants everything the interaction asks for. */
async function grantAll(details) {
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(' '));
  if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.prompt.details.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  return grant.save();
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${body}</body></html>`;
}

function loginPage(uid, error) {
  return page('Sign in to the test provider', `${error ? `<p role="alert">${error}</p>` : ''}<form method="post" action="/interaction/${uid}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form>`);
}

createServer(provider.callback()).listen(port, '127.0.0.1', () => process.stdout.write(`oidc provider on ${issuer}\n`));
