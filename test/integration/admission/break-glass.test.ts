/**
 * Break-glass exceptions end to end on real Redis: an admin of the team grants one through the
 * API (bad expiries and foreign teams refused with codes), the grant is audited and published as
 * `exception.granted`, two webhook replicas admit the image from memory within a second with a
 * warning naming the exception, its reason and expiry; a replica whose clock is past the expiry
 * ignores it although Redis still holds it; an early revocation (audited) denies again at once.
 */
import { webhookSubscriber, type Delivery } from '../../../src/events';
import type { DomainEvent } from '../../../src/intake/events';
import { RedisApprovalStore, type Approval } from '../../../src/store';
import { startTestApp, type TestApp } from '../../harness/app';
import { containers, podReview } from '../../unit/admission/reviews';
import { review, startReplica, within, type Replica } from './replica';

const D1 = `sha256:${'1'.repeat(64)}`;
const HOTFIX = 'ghcr.io/acme/hotfix:1.2.3';
const HOUR = 3600 * 1000;
const namespaces = { 'payments-*': 'payments', logistics: 'logistics' };

describe('break-glass exceptions', () => {
  let app: TestApp;
  const events: DomainEvent[] = [];
  const replicas: Replica[] = [];
  /** What the webhook sink queues for an endpoint subscribed to `exception.*` (the alert). */
  const alerts: Delivery[] = [];

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { webhook: { namespaces } } });
    app.services.events.subscribe((e) => { events.push(e); });
    app.services.events.subscribe(webhookSubscriber([{ name: 'chat', url: 'https://127.0.0.1:9/hook', events: ['exception.*'], secret: Buffer.alloc(32, 1) }], { add: async (d) => { alerts.push(d); } }, 'portcullis'));
    const approval: Approval = {
      team: 'payments', digest: D1, image: 'docker.io/library/nginx', tags: ['1.25'], platforms: [],
      internalRef: `registry.internal/approved/payments/docker.io/library/nginx@${D1}`, internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1.25',
      approvedAt: new Date().toISOString(), approvedBy: ['ann'], requestId: 'r1',
    };
    await new RedisApprovalStore(app.redis, app.config.redis.prefix).put(approval);
  });

  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await app.stop();
  });

  it('GET /v1/namespaces shows each reader the entries of its teams, auditors and `*` all', async () => {
    const list = async (who: 'dev' | 'otherDev' | 'auditor' | 'admin') => (await app.call(who, 'GET', '/v1/namespaces')).body;
    expect(await list('dev')).toEqual({ namespaces: [{ namespace: 'payments-*', team: 'payments', pattern: true }], exempt: ['kube-system', 'portcullis'] });
    expect((await list('otherDev')).namespaces).toEqual([{ namespace: 'logistics', team: 'logistics', pattern: false }]);
    for (const who of ['auditor', 'admin'] as const) expect((await list(who)).namespaces.map((n: { namespace: string }) => n.namespace).sort()).toEqual(['logistics', 'payments-*']);
    expect((await app.call(null, 'GET', '/v1/namespaces')).status).toBe(401);
  });

  const hotfixPod = (ns = 'payments-prod') => podReview(ns, containers(HOTFIX));

  it('refuses bad grants with clear codes', async () => {
    const body = { team: 'payments', image: HOTFIX, reason: 'INC-1 outage', expires: new Date(Date.now() + HOUR).toISOString() };
    const post = (who: 'paymentsAdmin' | 'dev' | 'admin', b: unknown) => app.call(who, 'POST', '/v1/exceptions', b);
    expect((await post('paymentsAdmin', { ...body, expires: new Date(Date.now() + 25 * HOUR).toISOString() })).body.error.code).toBe('EXPIRES_TOO_LATE');
    expect((await post('paymentsAdmin', { ...body, expires: new Date(Date.now() - 1000).toISOString() })).body.error.code).toBe('EXPIRES_IN_PAST');
    expect((await post('paymentsAdmin', { ...body, expires: 'tomorrow' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post('paymentsAdmin', { ...body, digest: D1 })).body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('exactly one of image and digest') });
    expect((await post('paymentsAdmin', { ...body, image: 'UPPER/case' })).body.error.code).toBe('INVALID_REFERENCE');
    expect((await post('paymentsAdmin', { ...body, image: undefined, digest: 'sha256:abc' })).body.error.code).toBe('INVALID_REQUEST');
    expect((await post('paymentsAdmin', { ...body, namespace: 'logistics' })).body.error).toMatchObject({ code: 'INVALID_REQUEST', message: expect.stringContaining('not a namespace of team payments') });
    expect((await post('paymentsAdmin', { ...body, team: 'logistics' })).status).toBe(403);
    expect((await post('dev', body)).body.error.code).toBe('FORBIDDEN');
    expect((await post('paymentsAdmin', { ...body, extra: 1 })).body.error.code).toBe('UNKNOWN_FIELD');
    expect((await app.call('dev', 'GET', '/v1/exceptions?team=payments')).body.items).toEqual([]);
  });

  it('is honoured by every replica from memory, with a warning, until revoked early', async () => {
    const prefix = app.config.redis.prefix;
    for (let i = 0; i < 2; i += 1) replicas.push(await startReplica(app.config.redis.url, prefix, { namespaces }));
    // A replica whose clock is already past the expiry: the entry is in Redis, but not in force.
    const late = await startReplica(app.config.redis.url, prefix, { namespaces }, { now: () => Date.now() + 3 * HOUR });
    replicas.push(late);
    for (const r of replicas) expect((await review(r.h.port, hotfixPod())).response.status?.message).toContain(`image ${HOTFIX}: NOT_APPROVED for team payments`);

    const expires = new Date(Date.now() + 2 * HOUR).toISOString();
    const granted = await app.call('paymentsAdmin', 'POST', '/v1/exceptions', { team: 'payments', image: HOTFIX, namespace: 'payments-prod', reason: 'INC-4711 card outage', expires });
    expect(granted.status).toBe(201);
    const id: string = granted.body.id;
    expect(granted.body).toMatchObject({ team: 'payments', image: 'ghcr.io/acme/hotfix', tag: '1.2.3', namespace: 'payments-prod', reason: 'INC-4711 card outage', expires, by: 'paymentsAdmin', active: true });
    expect(events.find((e) => e.type === 'exception.granted')).toMatchObject({ actor: 'paymentsAdmin', target: `exception/payments/${id}`, recorded: true, details: { team: 'payments', id, expires } });
    // The alert: a CloudEvent queued for the subscribed endpoint, naming the exception and why.
    const alert = alerts.find((d) => d.type.endsWith('exception.granted'));
    expect(alert).toMatchObject({ endpoint: 'chat', team: 'payments' });
    expect(JSON.parse(alert!.body)).toMatchObject({ type: 'io.portcullis.exception.granted', data: { id, team: 'payments', reason: 'INC-4711 card outage', expires, actor: 'paymentsAdmin' } });

    for (const r of replicas.slice(0, 2)) {
      await within(1000, 'the exception reached a replica', async () => (await review(r.h.port, hotfixPod())).response.allowed);
      const res = (await review(r.h.port, hotfixPod())).response;
      expect(res.warnings).toEqual([expect.stringContaining(`admitted by break-glass exception ${id} of team payments, granted by paymentsAdmin: "INC-4711 card outage"; it expires at ${expires}`)]);
      // Only the namespace it names, only the tag it names.
      expect((await review(r.h.port, hotfixPod('payments-dev'))).response.allowed).toBe(false);
      expect((await review(r.h.port, podReview('payments-prod', containers('ghcr.io/acme/hotfix:1.2.4')))).response.allowed).toBe(false);
    }
    // The late replica has heard it (a reload ran) and still denies: its clock says it expired.
    await within(1000, 'the late replica loaded the exception', async () => late.h.sync.exceptions.size === 1);
    expect((await review(late.h.port, hotfixPod())).response.allowed).toBe(false);

    // Readers of the team list it; another team's reader does not see it.
    expect((await app.call('dev', 'GET', '/v1/exceptions?team=payments')).body.items).toMatchObject([{ id, active: true }]);
    expect((await app.call('otherDev', 'GET', '/v1/exceptions?team=payments')).status).toBe(404);
    expect((await app.call('otherDev', 'GET', '/v1/exceptions')).body.items).toEqual([]);
    expect((await app.call('otherDev', 'DELETE', `/v1/exceptions/${id}`)).status).toBe(404);
    expect((await app.call('dev', 'DELETE', `/v1/exceptions/${id}`)).body.error.code).toBe('FORBIDDEN');

    const revoked = await app.call('paymentsAdmin', 'DELETE', `/v1/exceptions/${id}?reason=${encodeURIComponent('fixed upstream')}`);
    expect(revoked.body).toMatchObject({ id, active: false });
    for (const r of replicas.slice(0, 2)) await within(1000, 'the revocation reached a replica', async () => !(await review(r.h.port, hotfixPod())).response.allowed);
    expect((await app.call('paymentsAdmin', 'DELETE', `/v1/exceptions/${id}`)).status).toBe(404);
    expect((await app.call('dev', 'GET', '/v1/exceptions?team=payments')).body.items).toEqual([]);

    // Both were recorded in the audit log, chained.
    const audit = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    const mine = audit.body.items.filter((e: { target: string }) => e.target === `exception/payments/${id}`);
    expect(mine).toMatchObject([
      { action: 'exception.granted', actor: 'paymentsAdmin', details: { reason: 'INC-4711 card outage', expires } },
      { action: 'exception.revoked', actor: 'paymentsAdmin', details: { revokeReason: 'fixed upstream' } },
    ]);
  });

  it('by digest covers the digest under any name in every namespace of the team, not another team', async () => {
    const digest = `sha256:${'7'.repeat(64)}`;
    const expires = new Date(Date.now() + HOUR).toISOString();
    const granted = await app.call('admin', 'POST', '/v1/exceptions', { team: 'payments', digest, reason: 'INC-4712', expires });
    expect(granted.status).toBe(201);
    const [r] = replicas;
    await within(1000, 'the exception reached a replica', async () => (await review(r.h.port, podReview('payments-dev', containers(`quay.io/x/y@${digest}`)))).response.allowed);
    expect((await review(r.h.port, podReview('logistics', containers(`quay.io/x/y@${digest}`)))).response.allowed).toBe(false);
    expect((await review(r.h.port, podReview('payments-dev', containers('quay.io/x/y:1')))).response.allowed).toBe(false);
  });
});
