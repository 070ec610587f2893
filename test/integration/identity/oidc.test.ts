/**
 * People's bearer JWTs against a real OpenID Provider (npm oidc-provider on loopback): tokens
 * from the authorization-code flow are accepted with the roles and teams their groups map to;
 * expired, wrong-audience, wrong-issuer, `alg: none`, HS256-with-the-public-key, unknown-kid and
 * forged-signature tokens are refused with 401 and the code that names the failed check.
 */
import { createHmac, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../../harness/app';
import { startOidcProvider, type OidcProvider } from '../../harness/oidc';
import { session } from '../ui/console-fixture';

const CLIENT = { id: 'portcullis', secret: 'client-secret-1', redirectUri: 'http://127.0.0.1/callback' };
const OTHER_CLIENT = { id: 'some-other-app', secret: 'client-secret-2', redirectUri: 'http://127.0.0.1/other' };

let op: OidcProvider;
let app: TestApp;
let now = new Date();

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An RSA key of our own (one the provider never published), made once: key generation blocks the event loop. */
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A compact JWS signed with {@link privateKey}. */
function signRs256(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', ...header })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

async function get(token: string, path = '/v1/requests'): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

beforeAll(async () => {
  op = await startOidcProvider({
    clients: [CLIENT, OTHER_CLIENT],
    users: {
      alice: { groups: ['payments-devs'], username: 'alice.a' },
      bob: { groups: ['platform-admins'] },
      carol: { groups: ['marketing'] },
    },
  });
  app = await startTestApp({
    worker: false,
    identity: { clock: () => now },
    config: {
      auth: {
        oidc: {
          issuer: op.issuer, clientId: CLIENT.id, audiences: [op.resource],
          groups: { 'payments-devs': { roles: ['developer'], teams: ['payments'] }, 'payments-approvers': { roles: ['approver'], teams: ['payments'] } },
          adminGroups: ['platform-admins'],
        },
      },
    },
  });
});

afterAll(async () => {
  await app?.stop();
  await op?.stop();
});

beforeEach(() => { now = new Date(); });

describe('OIDC bearer JWTs', () => {
  it('accepts ID and access tokens and maps groups to roles and teams', async () => {
    const alice = await op.signIn('alice');
    expect(decodeJwt(alice.id_token).aud).toBe(CLIENT.id);
    expect(decodeJwt(alice.access_token).aud).toBe(op.resource);
    for (const token of [alice.id_token, alice.access_token]) {
      expect((await get(token)).status).toBe(200);
      // A developer of payments, not an approver.
      const queue = await get(token, '/v1/queue');
      expect(queue.status).toBe(403);
      expect(queue.body.error.code).toBe('FORBIDDEN');
    }
    const created = await fetch(`${app.url}/v1/requests`, {
      method: 'POST', headers: { authorization: `Bearer ${alice.id_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: 'docker.io/library/nginx:1.27', team: 'logistics', justification: 'x' }),
    });
    // Not a member of logistics.
    expect(created.status).toBe(403);

    const bob = await op.signIn('bob');
    const queue = await get(bob.id_token, '/v1/queue');
    expect(queue.status).toBe(200);
  });

  it('refuses a valid identity whose groups map to no role with 403 IDENTITY_UNMAPPED', async () => {
    const carol = await op.signIn('carol');
    const r = await get(carol.id_token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('IDENTITY_UNMAPPED');
    // A client-credentials token: a real token of the provider, but no person and no groups.
    const machine = await get(await op.clientCredentials());
    expect(machine.status).toBe(403);
    expect(machine.body.error.code).toBe('IDENTITY_UNMAPPED');
  });

  it('takes a group removed at the provider away at the next refresh', async () => {
    await op.setGroups('alice', ['payments-devs']);
    const first = await op.signIn('alice');
    expect((await get(first.access_token)).status).toBe(200);
    await op.setGroups('alice', ['marketing']);
    const refreshed = await op.refresh(first.refresh_token!);
    const r = await get(refreshed.access_token);
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('IDENTITY_UNMAPPED');
    await op.setGroups('alice', ['payments-devs']);
  });

  it('refuses an expired token once the clock passes exp (and the skew)', async () => {
    const { id_token } = await op.signIn('alice');
    const { exp } = decodeJwt(id_token);
    now = new Date((exp! + 31) * 1000);
    const r = await get(id_token);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('TOKEN_EXPIRED');
    expect(r.headers.get('www-authenticate')).toContain('invalid_token');
    now = new Date((exp! + 29) * 1000);
    expect((await get(id_token)).status).toBe(200);
    // Accepted (and remembered as verified) a moment ago: the cache must not outlive exp.
    now = new Date((exp! + 31) * 1000);
    expect((await get(id_token)).body.error.code).toBe('TOKEN_EXPIRED');
  });

  it('ends a console session made from a bearer ID token at the token\'s exp (audit F6)', async () => {
    const { id_token } = await op.signIn('alice');
    const { exp } = decodeJwt(id_token);
    const s = await session(app, 'dev', id_token);
    now = new Date(exp! * 1000 - 1000);
    expect((await s.get('/ui/overview')).status).toBe(200);
    // The API still accepts it for auth.clockSkewSeconds; the console, with no token to check again, not past exp.
    now = new Date(exp! * 1000);
    const ended = await s.get('/ui/overview');
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toContain('ended=access');
    // Ended, not refused once: back on time, the session is still gone (a new sign-in maps the groups again).
    now = new Date();
    expect((await s.get('/ui/overview')).headers.get('location')).toContain('ended=idle');
  });

  it('refuses a token issued to another client (wrong audience)', async () => {
    const other = await op.signIn('alice', OTHER_CLIENT, 'openid profile groups');
    expect(decodeJwt(other.id_token).aud).toBe(OTHER_CLIENT.id);
    const r = await get(other.id_token);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('TOKEN_AUDIENCE_MISMATCH');
  });

  it('refuses tokens of an unknown issuer, alg none, HS256 with the public key, an unknown kid and a forged signature', async () => {
    const real = await op.signIn('alice');
    const claims = decodeJwt(real.id_token);
    const header = JSON.parse(Buffer.from(real.id_token.split('.')[0], 'base64url').toString());

    const wrongIssuer = await get(signRs256({ kid: header.kid }, { ...claims, iss: 'https://idp.attacker.example' }));
    expect([wrongIssuer.status, wrongIssuer.body.error.code]).toEqual([401, 'TOKEN_ISSUER_UNKNOWN']);

    const none = await get(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`);
    expect([none.status, none.body.error.code]).toEqual([401, 'TOKEN_ALGORITHM_REFUSED']);

    // The classic key-confusion attack: HMAC "signed" with the provider's published RSA key.
    const jwks = (await (await fetch(`${op.issuer}/jwks`)).json()) as { keys: Array<Record<string, string>> };
    const pem = createPublicKey({ key: jwks.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: header.kid })}.${b64(claims)}`;
    const hs = await get(`${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`);
    expect([hs.status, hs.body.error.code]).toEqual([401, 'TOKEN_ALGORITHM_REFUSED']);

    const unknownKid = await get(signRs256({ kid: 'not-published' }, claims));
    expect([unknownKid.status, unknownKid.body.error.code]).toEqual([401, 'TOKEN_KEY_UNKNOWN']);

    const forged = await get(signRs256({ kid: header.kid }, { ...claims, groups: ['platform-admins'] }));
    expect([forged.status, forged.body.error.code]).toEqual([401, 'TOKEN_SIGNATURE_INVALID']);

    const garbled = await get(`${real.id_token.split('.')[0]}.@@@.x`);
    expect(garbled.status).toBe(401);

    // The real token still works: none of the above poisoned the key cache.
    expect((await get(real.id_token)).status).toBe(200);
  });
});
