/** The ECS categorization only ever uses values the ECS reference allows, for every action we emit. */
import { ALERT_ACTIONS, ECS_CATEGORIES, ECS_KINDS, ECS_OUTCOMES, ECS_TYPES, ecsCategorization, signInEcs } from '../../../src/lib/ecs';

const ACTIONS = [
  'request.created', 'request.status_changed', 'request.approved', 'request.rejected', 'request.waiver_granted', 'request.deleted',
  'approval.revoked', 'approval.unrevoked', 'approval.at_risk', 'approval.ok', 'approval.review_required', 'approval.review_kept',
  'approval.drift', 'waiver.expiring', 'findings.updated', 'auth.failed', 'login.failed', 'login.succeeded', 'robot.created', 'principal.disabled_inactive',
  'audit.malformed_record', 'clair.notification_abandoned', 'something.new',
];

describe('ECS categorization', () => {
  it.each(ACTIONS)('%s uses allowed values only', (action) => {
    const c = ecsCategorization(action, {}, ALERT_ACTIONS.has(action) ? 'alert' : 'event');
    expect(ECS_KINDS).toContain(c['event.kind']);
    expect(c['event.category'].length).toBeGreaterThan(0);
    for (const x of c['event.category']) expect(ECS_CATEGORIES).toContain(x);
    for (const x of c['event.type']) expect(ECS_TYPES).toContain(x);
    expect(ECS_OUTCOMES).toContain(c['event.outcome']);
    expect(c['event.action']).toBe(action);
  });

  it('says allowed for approvals, denied for rejections and revocations, failure for a refused sign-in', () => {
    expect(ecsCategorization('request.approved')).toMatchObject({ 'event.category': ['configuration'], 'event.type': ['change', 'allowed'], 'event.outcome': 'success' });
    expect(ecsCategorization('request.rejected')['event.type']).toEqual(['change', 'denied']);
    expect(ecsCategorization('approval.revoked')['event.type']).toEqual(['change', 'denied']);
    expect(ecsCategorization('auth.failed')).toMatchObject({ 'event.category': ['authentication'], 'event.type': ['start'], 'event.outcome': 'failure' });
    expect(ecsCategorization('request.status_changed', { to: 'failed' })['event.outcome']).toBe('failure');
    expect(ecsCategorization('request.status_changed', { to: 'scanning' })['event.outcome']).toBe('success');
  });

  it('gives sign-in lines the full categorization of an authentication start, in the audit dataset', () => {
    const common = { 'event.kind': 'event', 'event.category': ['authentication'], 'event.type': ['start'], 'event.dataset': 'portcullis.audit' };
    expect(signInEcs('failure')).toEqual({ ...common, 'event.action': 'login.failed', 'event.outcome': 'failure' });
    expect(signInEcs('success')).toEqual({ ...common, 'event.action': 'login.succeeded', 'event.outcome': 'success' });
    expect(signInEcs('failure', 'auth.failed')).toEqual({ ...common, 'event.action': 'auth.failed', 'event.outcome': 'failure' });
  });
});
