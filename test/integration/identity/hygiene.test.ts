/**
 * Role hygiene with a clock the test moves: principals unused for auth.inactiveDays (tokens-file
 * entries from when they were listed, workloads from their last use, robots from their last use
 * or creation) are reported by GET /v1/principals?inactive=true, disabled by the hygiene job
 * (once, even with two workers at it) with an event, refused with PRINCIPAL_DISABLED, and an
 * admin can enable one again. The tokens file is reloaded when it changes.
 */
import { writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { runIdentityHygiene } from '../../../queue/identity-hygiene';
import type { DomainEvent } from '../../../src/intake';
import { createLogger } from '../../../src/lib/logger';
import { sha256Hex } from '../../../src/lib/identity/tokens-file';
import { PRINCIPALS, startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { startTestIssuer, type TestIssuer } from '../../harness/jwt-issuer';
import { waitFor } from '../../harness/proc';

const DAY = 86_400_000;
let app: TestApp;
let issuer: TestIssuer;
let now = new Date('2027-03-01T08:00:00Z');
const events: DomainEvent[] = [];
const hygiene = () => ({ runOnce: () => runIdentityHygiene(app.services.auth, createLogger({ level: 'silent' })) });

async function call(token: string, path = '/v1/approved?image=docker.io/library/nginx:1.27&team=payments'): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code };
}

beforeAll(async () => {
  issuer = await startTestIssuer();
  app = await startTestApp({
    worker: false,
    identity: { clock: () => now, tokensFilePollMs: 100 },
    config: { auth: { inactiveDays: 30, workloads: [{ issuer: issuer.issuer, audience: 'portcullis', jwksUrl: issuer.jwksUrl, claims: { 'kubernetes.io.namespace': 'payments-ci' }, team: 'payments', role: 'ci' }] } },
  });
  app.services.events.subscribe((e) => { if (e.type.startsWith('principal.') || e.type === 'robot.disabled_inactive') events.push(e); });
});
afterAll(async () => {
  await app?.stop();
  await issuer?.stop();
});

describe('role hygiene', () => {
  it('reports and disables principals unused for auth.inactiveDays, once, and lets an admin enable one again', async () => {
    // The tokens-file entries are listed (their clock starts) when the file is read.
    await waitFor(async () => (await app.call('auditor', 'GET', '/v1/principals')).body.principals?.length >= Object.keys(PRINCIPALS).length, 'tokens-file principals listed');
    const ci = await issuer.sign({ sub: 'system:serviceaccount:payments-ci:builder', aud: 'portcullis', exp: Math.floor(now.getTime() / 1000) + 200 * 86400, 'kubernetes.io': { namespace: 'payments-ci' } });
    expect(await call(ci)).toEqual({ status: 404, code: 'NOT_APPROVED' });
    const robot = await app.call('admin', 'POST', '/v1/robots', { name: 'idle', team: 'payments', roles: ['ci'], expiresInDays: 90 });
    const robotId = robot.body.robot.id as string;

    now = new Date(now.getTime() + 20 * DAY);
    for (const who of ['auditor', 'admin'] as Who[]) expect((await app.call(who, 'GET', '/v1/principals')).status).toBe(200);
    // Seen too (a use is a use, allowed or not); neither may list principals.
    for (const who of ['approver', 'otherDev'] as Who[]) expect((await app.call(who, 'GET', '/v1/principals')).status).toBe(403);
    now = new Date(now.getTime() + 11 * DAY);

    const inactive = await app.call('auditor', 'GET', '/v1/principals?inactive=true');
    expect(inactive.status).toBe(200);
    const subjects = inactive.body.principals.map((p: { subject: string }) => p.subject);
    const workload = `workload:${issuer.issuer}#system:serviceaccount:payments-ci:builder`;
    expect(subjects).toEqual(expect.arrayContaining(['tokens-file:dev', 'tokens-file:ci', workload, `robot:${robotId}`]));
    expect(subjects).not.toContain('tokens-file:auditor');
    expect(subjects).not.toContain('tokens-file:admin');
    expect(subjects).not.toContain('tokens-file:otherDev');
    // An admin of logistics only sees the principals of logistics.
    const scoped = await app.services.auth.principals!.list({ name: 'lo', roles: ['admin'], teams: ['logistics'] });
    expect(scoped.map((p) => p.subject).sort()).toEqual(['tokens-file:otherDev']);
    expect(inactive.body.principals.find((p: { subject: string }) => p.subject === 'tokens-file:dev')).toMatchObject({ source: 'tokens-file', roles: ['developer'], teams: ['payments'], disabled: false, inactive: true });

    const [a, b] = await Promise.all([hygiene().runOnce(), hygiene().runOnce()]);
    const disabled = [...a.disabled, ...b.disabled];
    expect(disabled).toEqual(expect.arrayContaining(['tokens-file:dev', workload, `robot:${robotId}`]));
    expect(new Set(disabled).size).toBe(disabled.length);
    expect(events.filter((e) => e.target === 'principal/tokens-file:dev')).toMatchObject([{ type: 'principal.disabled_inactive', actor: 'system', details: { source: 'tokens-file' } }]);
    expect(events.filter((e) => e.target === `robot/${robotId}`).map((e) => e.type)).toEqual(['robot.disabled_inactive']);
    expect((await hygiene().runOnce()).disabled).toEqual([]);
    const audit = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    expect(audit.body.items.filter((e: { target: string }) => e.target === 'principal/tokens-file:dev')).toMatchObject([{ action: 'principal.disabled_inactive', actor: 'system' }]);

    expect(await call(tokenOf('dev'), '/v1/requests')).toEqual({ status: 401, code: 'PRINCIPAL_DISABLED' });
    expect(await call(ci)).toEqual({ status: 401, code: 'PRINCIPAL_DISABLED' });
    expect(await call(robot.body.token)).toEqual({ status: 401, code: 'PRINCIPAL_DISABLED' });
    expect((await app.call('auditor', 'GET', '/v1/requests')).status).toBe(200);

    expect((await app.call('approver', 'POST', '/v1/principals/enable', { subject: 'tokens-file:dev' })).status).toBe(403);
    expect((await app.call('admin', 'POST', '/v1/principals/enable', { subject: 'tokens-file:dev' })).status).toBe(204);
    expect((await app.call('dev', 'GET', '/v1/requests')).status).toBe(200);
    expect((await app.call('admin', 'POST', '/v1/principals/enable', { subject: 'tokens-file:dev' })).status).toBe(404);
    // Its clock restarted: the next run leaves it enabled.
    expect((await hygiene().runOnce()).disabled).not.toContain('tokens-file:dev');
  });

  it('reloads the tokens file when it changes, and keeps the last good list when the new one is invalid', async () => {
    const file = app.config.auth.tokensFile!;
    const entries = Object.entries(PRINCIPALS).filter(([name]) => name !== 'limited')
      .map(([name, p]) => ({ name, roles: [...p.roles], teams: [...p.teams], tokenSha256: sha256Hex(tokenOf(name as Who)) }));
    writeFileSync(file, YAML.stringify({ principals: [...entries, { name: 'newcomer', roles: ['auditor'], teams: [], tokenSha256: sha256Hex('token-newcomer') }] }));
    await waitFor(async () => (await call('token-newcomer', '/v1/requests')).status === 200, 'the new principal accepted');
    // Removed from the file: refused without a restart.
    expect((await app.call('limited', 'GET', '/v1/requests')).status).toBe(401);

    const tokens = app.services.auth.tokensFile!;
    const before = tokens.principals().length;
    expect(tokens.lastReloadError).toBeUndefined();
    writeFileSync(file, 'principals:\n  - { name: broken, roles: [superuser], tokenSha256: nope }\n');
    await waitFor(async () => tokens.lastReloadError !== undefined, 'the invalid file read and refused');
    expect(tokens.lastReloadError).toMatch(/^auth\.tokensFile: .*tokens\.yaml/);
    expect(tokens.principals()).toHaveLength(before);
    expect(await call('token-newcomer', '/v1/requests')).toEqual({ status: 200, code: undefined });
  });
});
