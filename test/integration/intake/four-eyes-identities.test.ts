/**
 * Four-eyes across identities on the real Redis store (issue 14.5): the requester and each
 * approver are matched on stable subjects (a tokens-file entry's `sameAs` links it to the same
 * person's OIDC account), never on display names; `distinctGroups` refuses approvers who share
 * an approving group; concurrent approvals by many principals, some of them the same person
 * through two identities, record exactly the required number of distinct people.
 */
import Redis from 'ioredis';
import { DecisionService, EventBus, Lifecycle, WaiverService } from '../../../src/intake';
import { approverGroupsOf } from '../../../src/identity/oidc';
import { TokensFileIdentityProvider } from '../../../src/identity/tokens-file';
import { sha256Hex } from '../../../src/lib/identity/tokens-file';
import type { Principal } from '../../../src/lib/identity/types';
import { RedisRequestStore, type IntakeRequest } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { codeOf } from '../../harness/codes';

const ISSUER = 'https://login.bank.test';
const oidc = (sub: string, name: string, approverGroups: string[]): Principal => ({
  name, roles: ['developer', 'approver'], teams: ['pay'], subject: `oidc:${ISSUER}#${sub}`, source: 'oidc', groups: approverGroups, approverGroups,
});
const file = (name: string, sameAs?: string[]): Principal => ({
  name, roles: ['developer', 'approver'], teams: ['pay'], subject: `tokens-file:${name}`, source: 'tokens-file', ...(sameAs ? { sameAs } : {}),
});

/** Alice through the tokens file (linked to her OIDC account) and through OIDC. */
const aliceFile = file('alice', [`oidc:${ISSUER}#u-alice`]);
const aliceOidc = oidc('u-alice', 'alice.a', ['sec-approvers']);

function awaiting(id: string, requester: Principal | null, requestedBy = requester?.name ?? 'alice'): IntakeRequest {
  const now = new Date().toISOString();
  return {
    id, image: 'docker.io/library/nginx:1', team: 'pay', requestedBy,
    ...(requester ? { requester: { subject: requester.subject!, ...(requester.sameAs ? { sameAs: requester.sameAs } : {}) } } : {}),
    justification: 'j', status: 'awaiting_approval', createdAt: now, updatedAt: now,
    source: { registry: 'docker.io', repository: 'library/nginx', tag: '1', digest: `sha256:${'a'.repeat(64)}` },
    platforms: [], scans: [], codeScans: [], policy: { verdict: 'pass', reasons: [] }, waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
  };
}

describe('four-eyes across identities (real Redis)', () => {
  let redis: Redis;
  let prefix: string;
  let store: RedisRequestStore;
  const decisionsWith = (approvalsRequired: number, distinctGroups = false, links?: (s: string) => string[], approverGroups?: (p: Principal) => string[]): DecisionService => {
    const events = new EventBus();
    return new DecisionService({
      requests: store, scheduler: { schedule: async () => undefined }, lifecycle: new Lifecycle(store, events), events,
      approvalsRequired, distinctGroups, policy: () => ({ verdict: 'pass', reasons: [] }), links, approverGroups,
    });
  };

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('foureyes');
    store = new RedisRequestStore(redis, prefix);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('refuses the requester whichever identity they use, and never matches on display names', async () => {
    const decisions = decisionsWith(1);
    const waivers = new WaiverService({ requests: store, events: new EventBus(), policy: () => ({ verdict: 'pass', reasons: [] }) });
    await store.create(awaiting('by-file', aliceFile));
    await store.create(awaiting('by-oidc', aliceOidc));
    // Through the other identity, both ways round.
    expect(await codeOf(decisions.approve(aliceOidc, 'by-file', 'x'))).toBe('FOUR_EYES');
    expect(await codeOf(decisions.reject(aliceOidc, 'by-file', 'x'))).toBe('FOUR_EYES');
    expect(await codeOf(decisions.approve(aliceFile, 'by-oidc', 'x'))).toBe('FOUR_EYES');
    expect(await codeOf(waivers.grant(aliceFile, 'by-oidc', { findingId: 'CVE-1', reason: 'r', expires: new Date(Date.now() + 86_400_000).toISOString() }))).toBe('FOUR_EYES');
    // Someone else whose display name is the requester's is another person: subjects decide.
    const namesake = oidc('u-other', 'alice', ['risk-approvers']);
    expect(await codeOf(decisions.approve(namesake, 'by-file', 'different person'))).toBe('ok');
    const saved = await store.get('by-file');
    expect(saved?.status).toBe('promoting');
    expect(saved?.decisions[0]).toMatchObject({ by: 'alice', subject: `oidc:${ISSUER}#u-other`, groups: ['risk-approvers'] });
  });

  it('looks the links up in the current tokens file: a record that kept only the subject, or a link added later, still counts', async () => {
    // A console session keeps only the subject: the request records tokens-file:alice, no sameAs.
    await store.create(awaiting('subject-only', file('alice')));
    const tokens = new TokensFileIdentityProvider([{ name: 'alice', roles: ['developer', 'approver'], teams: ['pay'], tokenSha256: sha256Hex('t') }]);
    const links = (s: string): string[] => tokens.linkedSubjects(s);
    // Before the administrator links the two identities, they are two people.
    expect(await codeOf(decisionsWith(2, false, links).approve(aliceOidc, 'subject-only', 'x'))).toBe('ok');
    await store.create(awaiting('later', file('alice')));
    tokens.replace([{ name: 'alice', roles: ['developer', 'approver'], teams: ['pay'], tokenSha256: sha256Hex('t'), sameAs: [aliceOidc.subject!] }]);
    expect(await codeOf(decisionsWith(1, false, links).approve(aliceOidc, 'later', 'x'))).toBe('FOUR_EYES');
    // And an approval through one identity is not counted again through the other.
    expect(await codeOf(decisionsWith(2, false, links).approve(file('alice'), 'subject-only', 'x'))).toBe('FOUR_EYES');
    await store.create(awaiting('twice-linked', file('zed')));
    expect(await codeOf(decisionsWith(2, false, links).approve(file('alice'), 'twice-linked', 'x'))).toBe('ok');
    expect(await codeOf(decisionsWith(2, false, links).approve(aliceOidc, 'twice-linked', 'x'))).toBe('CONFLICT');
  });

  it('falls back to the display name for requests recorded before subjects were (failing closed)', async () => {
    const decisions = decisionsWith(1);
    await store.create(awaiting('legacy', null, 'alice'));
    expect(await codeOf(decisions.approve(aliceFile, 'legacy', 'x'))).toBe('FOUR_EYES');
    // An OIDC user named alice may be someone else, but an old record cannot tell: refused.
    expect(await codeOf(decisions.approve(oidc('u-x', 'alice', ['g']), 'legacy', 'x'))).toBe('FOUR_EYES');
    expect(await codeOf(decisions.approve(file('bob'), 'legacy', 'x'))).toBe('ok');
  });

  it('does not count the same person twice across identities, nor an earlier approval by name', async () => {
    const decisions = decisionsWith(2);
    await store.create(awaiting('twice', file('zed')));
    expect(await codeOf(decisions.approve(aliceFile, 'twice', 'first'))).toBe('ok');
    expect(await codeOf(decisions.approve(aliceOidc, 'twice', 'again, through OIDC'))).toBe('CONFLICT');
    expect((await store.get('twice'))?.status).toBe('awaiting_approval');
    // A legacy approval (no subject) by "bob" and bob through the tokens file now: the same name, refused.
    await store.update('twice', (r) => ({ ...r, decisions: [{ by: 'bob', decision: 'approve', comment: 'old', at: r.updatedAt }] }));
    expect(await codeOf(decisions.approve(file('bob'), 'twice', 'x'))).toBe('CONFLICT');
  });

  it('with distinctGroups, refuses an approver sharing a group with an earlier one, and one in no group', async () => {
    const decisions = decisionsWith(2, true);
    await store.create(awaiting('groups', file('zed')));
    expect(await codeOf(decisions.approve(file('carl'), 'groups', 'no groups'))).toBe('FOUR_EYES_GROUPS');
    expect(await codeOf(decisions.approve(oidc('u-bob', 'bob', ['sec-approvers']), 'groups', 'first'))).toBe('ok');
    expect(await codeOf(decisions.approve(oidc('u-dan', 'dan', ['sec-approvers', 'risk-approvers']), 'groups', 'same group'))).toBe('FOUR_EYES_GROUPS');
    let r = await store.get('groups');
    expect(r?.status).toBe('awaiting_approval');
    expect(r?.decisions.map((d) => d.by)).toEqual(['bob']);
    expect(await codeOf(decisions.approve(oidc('u-cat', 'cat', ['risk-approvers']), 'groups', 'other group'))).toBe('ok');
    r = await store.get('groups');
    expect(r?.status).toBe('promoting');
    expect(r?.decisions.map((d) => d.groups)).toEqual([['sec-approvers'], ['risk-approvers']]);
  });

  it('with distinctGroups, maps the groups again for a principal that kept only its groups (a console session)', async () => {
    const mapping = { groups: { 'sec-approvers': { roles: ['approver' as const], teams: ['pay'] }, 'pay-devs': { roles: ['developer' as const], teams: ['pay'] }, 'risk-approvers': { roles: ['approver' as const], teams: ['pay'] } }, adminGroups: [] };
    const decisions = decisionsWith(2, true, undefined, approverGroupsOf(mapping));
    const session = (sub: string, groups: string[]): Principal => ({ name: sub, roles: ['developer', 'approver'], teams: ['pay'], subject: `oidc:${ISSUER}#${sub}`, source: 'oidc', groups });
    await store.create(awaiting('console', file('zed')));
    expect(await codeOf(decisions.approve(session('s1', ['pay-devs', 'sec-approvers']), 'console', 'x'))).toBe('ok');
    // Sharing only a developer group is no shared approving group; sharing sec-approvers is.
    expect(await codeOf(decisions.approve(session('s2', ['pay-devs', 'sec-approvers']), 'console', 'x'))).toBe('FOUR_EYES_GROUPS');
    expect(await codeOf(decisions.approve(session('s3', ['pay-devs', 'risk-approvers']), 'console', 'x'))).toBe('ok');
    expect((await store.get('console'))?.decisions.map((d) => d.groups)).toEqual([['sec-approvers'], ['risk-approvers']]);
  });

  it('records exactly the required number of distinct people under concurrent approvals', async () => {
    const required = 3;
    const decisions = decisionsWith(required);
    // Seven principals, five people: alice and bob each through the tokens file and OIDC.
    const bobOidc = oidc('u-bob', 'bob.b', ['sec']);
    const bobFile = file('bob', [bobOidc.subject!]);
    const principals = [aliceFile, aliceOidc, bobFile, bobOidc, oidc('u-cat', 'cat', ['a']), oidc('u-dan', 'dan', ['b']), file('erin')];
    const person = (subject: string | undefined): string => (subject === aliceOidc.subject || subject === aliceFile.subject ? 'alice' : subject === bobOidc.subject || subject === bobFile.subject ? 'bob' : subject!);
    for (let round = 0; round < 8; round++) {
      const id = `race-${round}`;
      await store.create(awaiting(id, file('zed')));
      const order = [...principals].sort(() => Math.random() - 0.5);
      const codes = await Promise.all(order.map((p) => codeOf(decisions.approve(p, id, 'go'))));
      const r = (await store.get(id))!;
      const approvals = r.decisions.filter((d) => d.decision === 'approve');
      expect({ round, status: r.status, approvals: approvals.length }).toEqual({ round, status: 'promoting', approvals: required });
      expect(new Set(approvals.map((d) => person(d.subject))).size).toBe(required);
      expect(codes.filter((c) => c === 'ok')).toHaveLength(required);
      expect(codes.every((c) => ['ok', 'CONFLICT', 'INVALID_STATE'].includes(c))).toBe(true);
    }
  });
});
