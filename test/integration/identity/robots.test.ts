/**
 * Robot accounts through the API on the real Redis store, with a clock the test moves: the token
 * is shown once and stored hashed; expiry is required and capped; a rotation keeps the previous
 * token for the overlap and restarts the clock; warnings 14 days and 1 day before expiry, then
 * the robot is disabled; disable, enable, delete; lastUsedAt at most once a minute; concurrent
 * rotations serialise.
 */
import { runIdentityHygiene } from '../../../queue/identity-hygiene';
import type { DomainEvent } from '../../../src/intake';
import { createLogger } from '../../../src/lib/logger';
import type { Principal } from '../../../src/lib/identity/types';
import { startTestApp, type TestApp } from '../../harness/app';

const DAY = 86_400_000;
let app: TestApp;
let now = new Date('2027-01-04T09:00:00Z');
const events: DomainEvent[] = [];
const hygiene = () => ({ runOnce: () => runIdentityHygiene(app.services.auth, createLogger({ level: 'silent' })) });
const at = (ms: number): void => { now = new Date(now.getTime() + ms); };

async function asRobot(token: string): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${app.url}/v1/approved?image=docker.io/library/nginx:1.27&team=payments`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}
const OK = { status: 404, code: 'NOT_APPROVED' }; // authenticated as CI of payments; nothing approved here

async function create(name: string, expiresInDays = 30): Promise<{ id: string; token: string }> {
  const r = await app.call('admin', 'POST', '/v1/robots', { name, team: 'payments', roles: ['ci'], expiresInDays });
  expect(r.status).toBe(201);
  return { id: r.body.robot.id, token: r.body.token };
}

beforeAll(async () => {
  // Months pass on this clock: keep role hygiene (another test) from disabling the test's principals.
  app = await startTestApp({ worker: false, identity: { clock: () => now }, config: { auth: { inactiveDays: 3650 } } });
  app.services.events.subscribe((e) => { if (e.type.startsWith('robot.')) events.push(e); });
});
afterAll(() => app?.stop());

describe('robot accounts', () => {
  it('creates a robot whose token is shown once, stored only as a hash, and authenticates as its team and role', async () => {
    const { id, token } = await create('deployer');
    expect(token).toMatch(/^pcr_[a-f0-9]{16}_/);
    expect(await asRobot(token)).toEqual(OK);
    // whoami names the provider that authenticated the caller, not the tokens file for everyone.
    const me = await fetch(`${app.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toEqual({ name: 'deployer', roles: ['ci'], teams: ['payments'], source: 'robot' });
    expect((await app.call('admin', 'GET', '/v1/whoami')).body.source).toBe('tokens-file');
    const secret = token.slice('pcr_'.length + 16 + 1);
    expect(secret).toHaveLength(43);
    for (const key of await app.redis.keys(`${app.config.redis.prefix}:robot*`)) {
      const type = await app.redis.type(key);
      const dump = type === 'string' ? await app.redis.get(key) : JSON.stringify(type === 'hash' ? await app.redis.hgetall(key) : await app.redis.smembers(key));
      expect(dump).not.toContain(secret);
    }
    const list = await app.call('admin', 'GET', '/v1/robots');
    const shown = list.body.robots.find((r: { id: string }) => r.id === id);
    expect(shown).toMatchObject({ name: 'deployer', team: 'payments', roles: ['ci'], disabled: false, expiresAt: new Date(now.getTime() + 30 * DAY).toISOString() });
    expect(JSON.stringify(list.body)).not.toMatch(/sha256|"tokens"/);
    expect(events.find((e) => e.type === 'robot.created' && e.target === `robot/${id}`)).toMatchObject({ actor: 'admin', details: { team: 'payments' }, recorded: true });
    // The audit record was written in the creating script and is chained into the audit log.
    const audit = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    expect(audit.body.items.filter((e: { action: string; target: string }) => e.target === `robot/${id}`)).toMatchObject([{ action: 'robot.created', actor: 'admin', details: { name: 'deployer', team: 'payments' } }]);
    expect(JSON.stringify(audit.body)).not.toContain(secret);
    // Another team's admin does not see it (404, not 403).
    const otherAdmin: Principal = { name: 'lo', roles: ['admin'], teams: ['logistics'], subject: 'tokens-file:lo' };
    expect((await app.services.auth.robots!.list(otherAdmin)).map((r) => r.id)).not.toContain(id);
    await expect(app.services.auth.robots!.rotate(otherAdmin, id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('requires an expiry of at most auth.robots.maxDays, refuses approver/admin roles and non-admins', async () => {
    const post = (body: unknown, who: 'admin' | 'dev' = 'admin') => app.call(who, 'POST', '/v1/robots', body);
    expect((await post({ name: 'forever', team: 'payments', roles: ['ci'] })).body.error.code).toBe('INVALID_REQUEST');
    const tooLong = await post({ name: 'long', team: 'payments', roles: ['ci'], expiresInDays: 91 });
    expect([tooLong.status, tooLong.body.error.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(tooLong.body.error.message).toContain('auth.robots.maxDays');
    expect((await post({ name: 'zero', team: 'payments', roles: ['ci'], expiresInDays: 0 })).status).toBe(400);
    expect((await post({ name: 'approver-bot', team: 'payments', roles: ['approver'], expiresInDays: 10 })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post({ name: 'x', team: 'payments', roles: ['ci'], expiresInDays: 10 }, 'dev')).status).toBe(403);
    expect((await post({ name: 'ninety', team: 'payments', roles: ['ci'], expiresInDays: 90 })).status).toBe(201);
    expect((await post({ name: 'ninety', team: 'payments', roles: ['ci'], expiresInDays: 90 })).body.error.code).toBe('CONFLICT');
  });

  it('keeps the previous token for the overlap after a rotation and restarts the clock', async () => {
    const { id, token: first } = await create('rotating', 30);
    at(29 * DAY);
    const rotated = await app.call('admin', 'POST', `/v1/robots/${id}/rotate`, {});
    expect(rotated.status).toBe(200);
    const second = rotated.body.token as string;
    expect(second).not.toBe(first);
    expect(rotated.body.robot.expiresAt).toBe(new Date(now.getTime() + 30 * DAY).toISOString());
    expect(await asRobot(first)).toEqual(OK);
    expect(await asRobot(second)).toEqual(OK);
    at(23 * 3_600_000);
    expect(await asRobot(first)).toEqual(OK);
    at(2 * 3_600_000);
    expect(await asRobot(first)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    // Past the first lifetime's end (30 days after creation): the clock restarted at the rotation.
    at(5 * DAY);
    expect(await asRobot(second)).toEqual(OK);
    at(25 * DAY);
    expect(await asRobot(second)).toEqual({ status: 401, code: 'TOKEN_EXPIRED' });
  });

  it('warns 14 days and 1 day before expiry, once each, then disables the expired robot', async () => {
    const { id, token } = await create('expiring', 30);
    const mine = () => events.filter((e) => e.target === `robot/${id}` && e.type !== 'robot.created').map((e) => [e.type, e.details.daysBefore ?? null]);
    at(15 * DAY);
    await hygiene().runOnce();
    expect(mine()).toEqual([]);
    at(DAY + 3_600_000);
    await hygiene().runOnce();
    await hygiene().runOnce();
    expect(mine()).toEqual([['robot.expiring', 14]]);
    at(13 * DAY);
    await Promise.all([hygiene().runOnce(), hygiene().runOnce()]);
    expect(mine()).toEqual([['robot.expiring', 14], ['robot.expiring', 1]]);
    at(DAY);
    await Promise.all([hygiene().runOnce(), hygiene().runOnce()]);
    expect(mine()).toEqual([['robot.expiring', 14], ['robot.expiring', 1], ['robot.expired', null]]);
    expect(await asRobot(token)).toEqual({ status: 401, code: 'PRINCIPAL_DISABLED' });
    const listed = (await app.call('admin', 'GET', '/v1/robots')).body.robots.find((r: { id: string }) => r.id === id);
    expect(listed).toMatchObject({ disabled: true, disabledReason: 'expired' });
  });

  it('disables, enables and deletes', async () => {
    const { id, token } = await create('toggled');
    expect((await app.call('admin', 'POST', `/v1/robots/${id}/disable`)).status).toBe(200);
    expect(await asRobot(token)).toEqual({ status: 401, code: 'PRINCIPAL_DISABLED' });
    expect((await app.call('admin', 'POST', `/v1/robots/${id}/enable`)).status).toBe(200);
    expect(await asRobot(token)).toEqual(OK);
    expect((await app.call('admin', 'DELETE', `/v1/robots/${id}`)).status).toBe(204);
    expect(await asRobot(token)).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect((await app.call('admin', 'DELETE', `/v1/robots/${id}`)).status).toBe(404);
    expect(events.filter((e) => e.target === `robot/${id}`).map((e) => e.type)).toEqual(['robot.created', 'robot.disabled', 'robot.enabled', 'robot.deleted']);
    const audit = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    expect(audit.status).toBe(200);
    expect(audit.body.items.filter((e: { target: string }) => e.target === `robot/${id}`).map((e: { action: string }) => e.action)).toEqual(['robot.created', 'robot.disabled', 'robot.enabled', 'robot.deleted']);
  });

  it('records lastUsedAt at most once a minute', async () => {
    const { id, token } = await create('used');
    const lastUsed = async () => (await app.call('admin', 'GET', '/v1/robots')).body.robots.find((r: { id: string }) => r.id === id).lastUsedAt;
    expect(await lastUsed()).toBeUndefined();
    const t0 = now.toISOString();
    await asRobot(token);
    expect(await lastUsed()).toBe(t0);
    at(30_000);
    await asRobot(token);
    expect(await lastUsed()).toBe(t0);
    at(31_000);
    await asRobot(token);
    expect(await lastUsed()).toBe(now.toISOString());
  });

  it('gives an auditor robot (which reads every team) only at the hands of an admin of every team', async () => {
    // paymentsAdmin administers payments only: an auditor token would read logistics too.
    const refused = await app.call('paymentsAdmin', 'POST', '/v1/robots', { name: 'eye', team: 'payments', roles: ['auditor'], expiresInDays: 10 });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'FORBIDDEN']);
    expect(refused.body.error.message).toContain('every team');
    expect((await app.call('paymentsAdmin', 'POST', '/v1/robots', { name: 'eye', team: 'payments', roles: ['ci', 'developer'], expiresInDays: 10 })).status).toBe(201);
    const made = await app.call('admin', 'POST', '/v1/robots', { name: 'eye-wide', team: 'payments', roles: ['auditor'], expiresInDays: 10 });
    expect(made.status).toBe(201);
    const id = made.body.robot.id as string;
    // Nor may it rotate (a new token in its hands) or re-enable one; disabling and deleting take power away and stay its to do.
    expect((await app.call('paymentsAdmin', 'POST', `/v1/robots/${id}/rotate`, {})).body.error.code).toBe('FORBIDDEN');
    expect((await app.call('paymentsAdmin', 'POST', `/v1/robots/${id}/disable`)).status).toBe(200);
    expect((await app.call('paymentsAdmin', 'POST', `/v1/robots/${id}/enable`)).body.error.code).toBe('FORBIDDEN');
    expect((await app.call('admin', 'POST', `/v1/robots/${id}/enable`)).status).toBe(200);
    expect((await app.call('paymentsAdmin', 'DELETE', `/v1/robots/${id}`)).status).toBe(204);
  });

  it('acts for the people handed its tokens: its creator and each rotator cannot approve what it requested', async () => {
    const made = await app.call('paymentsAdmin', 'POST', '/v1/robots', { name: 'requester', team: 'payments', roles: ['developer'], expiresInDays: 10 });
    expect(made.status).toBe(201);
    const id = made.body.robot.id as string;
    const whoami = (token: string) => app.services.auth.provider.authenticate(token);
    expect((await whoami(made.body.token))?.sameAs).toEqual(['tokens-file:paymentsAdmin']);
    const rotated = await app.call('admin', 'POST', `/v1/robots/${id}/rotate`, {});
    expect(rotated.status).toBe(200);
    expect((await whoami(rotated.body.token))?.sameAs).toEqual(['tokens-file:paymentsAdmin', 'tokens-file:admin']);
    expect(JSON.stringify((await app.call('admin', 'GET', '/v1/robots')).body)).not.toContain('holders');
    const res = await fetch(`${app.url}/v1/requests`, {
      method: 'POST', headers: { authorization: `Bearer ${rotated.body.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: `${app.config.upstreams[0].registry}/library/robot-made:1`, team: 'payments', justification: 'made by a robot' }),
    });
    expect(res.status).toBe(202);
    const request = (await res.json()) as { id: string };
    // Four-eyes is checked before the state (the worker is off): FOUR_EYES, not INVALID_STATE.
    for (const who of ['paymentsAdmin', 'admin'] as const) {
      expect((await app.call(who, 'POST', `/v1/requests/${request.id}/approve`, { comment: 'ok' })).body.error.code).toBe('FOUR_EYES');
    }
    expect((await app.call('approver', 'POST', `/v1/requests/${request.id}/approve`, { comment: 'ok' })).body.error.code).toBe('INVALID_STATE');
  });

  it('serialises concurrent rotations: only the last token and the one before it work', async () => {
    const { id } = await create('raced');
    const results = await Promise.all(Array.from({ length: 10 }, () => app.call('admin', 'POST', `/v1/robots/${id}/rotate`, {})));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const working = [];
    for (const r of results) if ((await asRobot(r.body.token)).status === 404) working.push(r.body.token);
    expect(working).toHaveLength(2);
    expect(events.filter((e) => e.target === `robot/${id}` && e.type === 'robot.rotated')).toHaveLength(10);
  });
});
