/**
 * Four-eyes across identities through the API (issue 14.5), against a real OpenID Provider: the
 * same person signed in through the tokens file (an entry linked with `sameAs` to their OIDC
 * account) and through an OIDC JWT cannot approve their own request either way round;
 * `policy.approvals.distinctGroups` refuses a second approver from the first one's group and
 * one in no group (403 FOUR_EYES_GROUPS); concurrent approvals by people of distinct groups
 * record exactly the required number.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { sha256Hex } from '../../../src/lib/identity/tokens-file';
import { RedisHealthStore } from '../../../src/monitor/health-store';
import { RedisRequestStore } from '../../../src/store';
import { startTestApp, type TestApp } from '../../harness/app';
import { startOidcProvider, type OidcProvider } from '../../harness/oidc';
import { tempDir } from '../../harness/proc';

const CLIENT = { id: 'portcullis', secret: 'client-secret-1', redirectUri: 'http://127.0.0.1/callback' };
const RACERS = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];

let op: OidcProvider;
let app: TestApp;
let store: RedisRequestStore;
const tokens = new Map<string, string>();

async function call(token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${app.url}${p}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** An ID token of `user` at the provider (one sign-in per user per file). */
async function jwtOf(user: string): Promise<string> {
  if (!tokens.has(user)) tokens.set(user, (await op.signIn(user)).id_token);
  return tokens.get(user)!;
}

/** A request made by `token`, moved on to awaiting approval (no worker runs here). */
async function awaitingRequest(token: string, tag: string): Promise<string> {
  const created = await call(token, 'POST', '/v1/requests', { image: `${app.config.upstreams[0].registry}/library/app:${tag}`, team: 'payments', justification: 'j' });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  const { moved } = await store.transition(id, ['requested'], 'awaiting_approval', (r) => ({ ...r, status: 'awaiting_approval', policy: { verdict: 'pass', reasons: [] } }));
  expect(moved).toBe(true);
  return id;
}

beforeAll(async () => {
  op = await startOidcProvider({
    clients: [CLIENT],
    users: {
      alice: { groups: ['payments-devs', 'sec-approvers'], username: 'alice.a' },
      bob: { groups: ['sec-approvers'] },
      dan: { groups: ['payments-devs', 'sec-approvers'] },
      carol: { groups: ['payments-devs', 'risk-approvers'] },
      ...Object.fromEntries(RACERS.map((u) => [u, { groups: [`${u}-approvers`] }])),
    },
  });
  const dir = tempDir('foureyes');
  const tokensFile = path.join(dir, 'tokens.yaml');
  writeFileSync(tokensFile, YAML.stringify({
    principals: [
      // Alice's break-glass token, linked to her OIDC account.
      { name: 'alice', roles: ['developer', 'approver'], teams: ['payments'], tokenSha256: sha256Hex('token-alice'), sameAs: [`oidc:${op.issuer}#alice`] },
      { name: 'approver', roles: ['approver'], teams: ['payments'], tokenSha256: sha256Hex('token-approver') },
    ],
  }));
  const approvers = Object.fromEntries([...RACERS, 'sec', 'risk'].map((g) => [`${g}-approvers`, { roles: ['approver'], teams: ['payments'] }]));
  app = await startTestApp({
    worker: false,
    config: {
      policy: { approvals: { required: 2, distinctGroups: true } },
      auth: {
        tokensFile,
        oidc: { issuer: op.issuer, clientId: CLIENT.id, audiences: [op.resource], groups: { 'payments-devs': { roles: ['developer'], teams: ['payments'] }, ...approvers } },
      },
    },
  });
  store = new RedisRequestStore(app.redis, app.config.redis.prefix);
});

afterAll(async () => {
  await app?.stop();
  await op?.stop();
});

describe('four-eyes across identities (API, real OpenID Provider)', () => {
  it('refuses the requester through their other identity, both ways round', async () => {
    const byFile = await awaitingRequest('token-alice', 'by-file');
    const read = await call('token-approver', 'GET', `/v1/requests/${byFile}`);
    expect(read.body).toMatchObject({ requestedBy: 'alice', requester: { subject: 'tokens-file:alice', sameAs: [`oidc:${op.issuer}#alice`] } });
    const viaOidc = await call(await jwtOf('alice'), 'POST', `/v1/requests/${byFile}/approve`, { comment: 'mine' });
    expect(viaOidc.status).toBe(403);
    expect(viaOidc.body.error.code).toBe('FOUR_EYES');

    const byOidc = await awaitingRequest(await jwtOf('alice'), 'by-oidc');
    expect((await call('token-approver', 'GET', `/v1/requests/${byOidc}`)).body).toMatchObject({ requestedBy: 'alice.a', requester: { subject: `oidc:${op.issuer}#alice` } });
    const viaFile = await call('token-alice', 'POST', `/v1/requests/${byOidc}/approve`, { comment: 'mine' });
    expect(viaFile.status).toBe(403);
    expect(viaFile.body.error.code).toBe('FOUR_EYES');
    // Her own requests are not in her queue, whichever identity asks.
    for (const token of ['token-alice', await jwtOf('alice')]) {
      const queue = await call(token, 'GET', '/v1/queue?limit=100');
      expect(queue.status).toBe(200);
      expect(queue.body.items.map((r: { id: string }) => r.id)).not.toContain(byFile);
      expect(queue.body.items.map((r: { id: string }) => r.id)).not.toContain(byOidc);
    }
  });

  it('refuses the requester the re-review of an at-risk approval through their other identity (keep)', async () => {
    const created = await call(await jwtOf('alice'), 'POST', '/v1/requests', { image: `${app.config.upstreams[0].registry}/library/kept:1`, team: 'payments', justification: 'j' });
    expect(created.status).toBe(202);
    // An approval past its re-review deadline, as the monitor leaves it (no worker or scanner runs here).
    const image = `${app.config.upstreams[0].registry}/library/kept`;
    const digest = `sha256:${'a'.repeat(64)}`;
    const at = new Date().toISOString();
    const health = new RedisHealthStore(app.redis, app.config.redis.prefix);
    expect(await health.save({
      team: 'payments', image, digest, requestId: created.body.id, state: 'at_risk', since: at, evaluatedAt: at, maxSeverity: 'critical',
      blocking: [{ id: 'CVE-2099-0001', aliases: [], severity: 'critical', kind: 'vulnerability', title: 't', cause: 'new', since: at, deadline: at }], diff: { added: [], removed: [], addedTotal: 0, removedTotal: 0 },
      deadline: at, review: { since: at }, version: 0,
    }, 0, [])).toBe(true);
    const until = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const keep = (token: string) => call(token, 'POST', '/v1/approvals/keep', { team: 'payments', image, digest, reason: 'compensating control', until });
    // Her tokens-file name (alice) is not her OIDC username (alice.a): the subject link decides.
    expect(await keep('token-alice')).toMatchObject({ status: 403, body: { error: { code: 'FOUR_EYES' } } });
    expect((await health.get({ team: 'payments', image, digest }))?.accepted).toBeUndefined();
    expect((await keep('token-approver')).status).toBe(200);
  });

  it('finds the link in the tokens file when the request kept only the subject (a console session)', async () => {
    const id = await awaitingRequest('token-alice', 'subject-only');
    await store.update(id, (r) => ({ ...r, requester: { subject: 'tokens-file:alice' } }));
    const viaOidc = await call(await jwtOf('alice'), 'POST', `/v1/requests/${id}/approve`, { comment: 'mine' });
    expect(viaOidc.status).toBe(403);
    expect(viaOidc.body.error.code).toBe('FOUR_EYES');
    const queue = await call(await jwtOf('alice'), 'GET', '/v1/queue?limit=100');
    expect(queue.body.items.map((r: { id: string }) => r.id)).not.toContain(id);
    // Someone else can see and decide it.
    expect((await call(await jwtOf('bob'), 'GET', '/v1/queue?limit=100')).body.items.map((r: { id: string }) => r.id)).toContain(id);
  });

  it('needs approvers from distinct groups: the same group and no group are refused with FOUR_EYES_GROUPS', async () => {
    const id = await awaitingRequest(await jwtOf('dan'), 'groups');
    const groupless = await call('token-approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'no groups' });
    expect(groupless.status).toBe(403);
    expect(groupless.body.error.code).toBe('FOUR_EYES_GROUPS');
    expect((await call(await jwtOf('bob'), 'POST', `/v1/requests/${id}/approve`, { comment: 'sec' })).status).toBe(200);
    // Alice is in sec-approvers too (payments-devs only makes her a developer).
    const sameGroup = await call(await jwtOf('alice'), 'POST', `/v1/requests/${id}/approve`, { comment: 'sec again' });
    expect(sameGroup.status).toBe(403);
    expect(sameGroup.body.error.code).toBe('FOUR_EYES_GROUPS');
    expect((await call('token-approver', 'GET', `/v1/requests/${id}`)).body.status).toBe('awaiting_approval');
    const other = await call(await jwtOf('carol'), 'POST', `/v1/requests/${id}/approve`, { comment: 'risk' });
    // 202: the promotion is queued.
    expect(other.status).toBe(202);
    expect(other.body.status).toBe('promoting');
    expect(other.body.decisions.map((d: { by: string; groups: string[] }) => [d.by, d.groups])).toEqual([['bob', ['sec-approvers']], ['carol', ['risk-approvers']]]);
  });

  it('records exactly the required approvals when people of distinct groups approve at once', async () => {
    const jwts = await Promise.all(RACERS.map(jwtOf));
    for (let round = 0; round < 3; round++) {
      const id = await awaitingRequest('token-alice', `race-${round}`);
      const answers = await Promise.all(jwts.map((t) => call(t, 'POST', `/v1/requests/${id}/approve`, { comment: 'go' })));
      // One approval recorded (200), the one that completes it queues the promotion (202), the rest are too late.
      expect(answers.map((a) => a.status).sort()).toEqual([200, 202, ...Array(RACERS.length - 2).fill(409)]);
      expect(answers.filter((a) => a.status === 409).map((a) => a.body.error.code)).toEqual(Array(RACERS.length - 2).fill('INVALID_STATE'));
      const r = await call('token-approver', 'GET', `/v1/requests/${id}`);
      expect(r.body.status).toBe('promoting');
      expect(r.body.decisions.filter((d: { decision: string }) => d.decision === 'approve')).toHaveLength(2);
    }
  });
});
