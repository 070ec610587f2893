/**
 * Console sessions made from a token are authorised again at every request, as the API
 * authenticates a bearer token (audit F3): a tokens-file entry removed, demoted, moved to another
 * team or given another token, and a robot whose token was rotated away, lose their open
 * sessions at the next page, not after `ui.lifetimeHours`; the session keeps no token; a session
 * without what re-checks it (made before this) is ended. The tokens file is the real one, reloaded
 * by its watcher.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { sha256Hex } from '../../../src/lib/identity/tokens-file';
import { RedisSessionStore } from '../../../src/ui/sessions';
import { PRINCIPALS, startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { tempDir, waitFor } from '../../harness/proc';
import { uniqueName } from '../../harness/services';
import { session, type Session } from './console-fixture';

interface Extra { name: string; roles: string[]; teams: string[]; token: string }

let app: TestApp;
let file: string;

function writeTokens(extra: Extra[]): void {
  writeFileSync(file, YAML.stringify({
    principals: [
      ...Object.entries(PRINCIPALS).map(([name, p]) => ({ name, roles: [...p.roles], teams: [...p.teams], tokenSha256: sha256Hex(tokenOf(name as Who)) })),
      ...extra.map(({ token, ...e }) => ({ ...e, tokenSha256: sha256Hex(token) })),
    ],
  }));
}

async function whoami(token: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${app.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
}

/** Writes the file and waits until the API answers `token` as `expect` says (the watcher reloaded it). */
async function reload(extra: Extra[], token: string, expect: (r: { status: number; body: any }) => boolean): Promise<void> {
  writeTokens(extra);
  await waitFor(async () => expect(await whoami(token)), 'the tokens file reloaded');
}

/** A new entry (unique name and token) and a console session signed in with its token. */
async function signedIn(roles = ['developer', 'approver'], teams = ['payments']): Promise<{ entry: Extra; s: Session }> {
  const name = uniqueName('person');
  const entry: Extra = { name, roles, teams, token: `token-${name}` };
  await reload([entry], entry.token, (r) => r.status === 200);
  const s = await session(app, 'dev', entry.token);
  expect((await s.get('/ui/queue')).status).toBe(200);
  return { entry, s };
}

/** The session's next page sends to sign-in, saying why; and the session is gone, not only refused once. */
async function expectEnded(s: Session, pagePath = '/ui/queue'): Promise<void> {
  const page = await s.get(pagePath);
  expect(page.status).toBe(303);
  const target = new URL(page.headers.get('location')!, app.url);
  expect(target.pathname).toBe('/ui/login');
  expect(target.searchParams.get('ended')).toBe('access');
  const login = await fetch(target, { headers: { cookie: s.cookie } });
  expect(await login.text()).toContain('your access changed, or the token you signed in with is no longer valid');
  // A form post of the ended session is refused too.
  expect((await s.post('/ui/logout', {})).status).toBe(401);
}

beforeAll(async () => {
  file = path.join(tempDir('console-reauth'), 'tokens.yaml');
  writeTokens([]);
  app = await startTestApp({ worker: false, identity: { tokensFilePollMs: 100 }, config: { auth: { tokensFile: file, robots: { overlapHours: 0 } } } });
});
afterAll(() => app?.stop());

describe('console sessions made from a token are authorised at every request', () => {
  it('ends the session of a tokens-file entry removed from the file, and not before', async () => {
    const { entry, s } = await signedIn();
    // Another entry added: this one is unchanged, its session goes on.
    const newcomer: Extra = { name: uniqueName('newcomer'), roles: ['auditor'], teams: [], token: `token-${uniqueName('n')}` };
    await reload([entry, newcomer], newcomer.token, (r) => r.status === 200);
    expect((await s.get('/ui/queue')).status).toBe(200);
    await reload([newcomer], entry.token, (r) => r.status === 401);
    await expectEnded(s);
  });

  it.each([
    ['demoted', { roles: ['developer'] }],
    ['moved to another team', { teams: ['logistics'] }],
    ['promoted', { roles: ['developer', 'approver', 'admin'] }],
  ])('ends the session of an entry %s', async (_how, change) => {
    const { entry, s } = await signedIn();
    const changed = { ...entry, ...change };
    await reload([changed], entry.token, (r) => r.status === 200 && JSON.stringify([r.body.roles, r.body.teams]) === JSON.stringify([changed.roles, changed.teams]));
    await expectEnded(s);
  });

  it('ends the session of an entry given another token', async () => {
    const { entry, s } = await signedIn();
    await reload([{ ...entry, token: `${entry.token}-new` }], entry.token, (r) => r.status === 401);
    await expectEnded(s);
  });

  it('ends the session of a robot whose token was rotated away', async () => {
    const created = await app.call('paymentsAdmin', 'POST', '/v1/robots', { name: uniqueName('bot'), team: 'payments', roles: ['developer'], expiresInDays: 1 });
    expect(created.status).toBe(201);
    const s = await session(app, 'dev', created.body.token);
    expect((await s.get('/ui/overview')).status).toBe(200);
    // auth.robots.overlapHours: 0, so the previous token stops working at once.
    expect((await app.call('paymentsAdmin', 'POST', `/v1/robots/${created.body.robot.id}/rotate`, {})).status).toBe(200);
    expect((await whoami(created.body.token)).status).toBe(401);
    await expectEnded(s, '/ui/overview');
  });

  it('keeps no token in the session, only the hash the tokens file already holds', async () => {
    const { entry, s } = await signedIn();
    const id = s.cookie.split('=')[1];
    const record = await app.redis.hgetall(`${app.config.redis.prefix}:ui:session:${createHash('sha256').update(id).digest('hex')}`);
    expect(JSON.parse(record.data).credential).toEqual({ kind: 'sha256', sha256: sha256Hex(entry.token) });
    expect(JSON.stringify(record)).not.toContain(entry.token);
  });

  it('ends a session that holds nothing to check it again with (made before sessions were re-checked)', async () => {
    const store = new RedisSessionStore(app.redis, app.config.redis.prefix, { idleMs: 60_000, lifetimeMs: 3_600_000 });
    const { id } = await store.create({ subject: 'tokens-file:admin', source: 'tokens-file', name: 'admin', roles: ['admin'], teams: ['*'] });
    const page = await fetch(`${app.url}/ui/queue`, { headers: { cookie: `portcullis_session=${id}` }, redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toContain('ended=access');
    expect(await store.get(id)).toBeNull();
  });
});
