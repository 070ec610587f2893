/**
 * CloudEvents mapping, subscription patterns and Standard Webhooks signatures, the last checked
 * with the spec's own library (`standardwebhooks`), not with our signer's mirror image.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { parseWebhookSecret, signWebhook, subscribed, toCloudEvent } from '../../../src/events';
import { resolveEndpoints, webhookSubscriber, type Delivery } from '../../../src/events/webhooks';

const digest = `sha256:${'a'.repeat(64)}`;

describe('CloudEvents', () => {
  it('maps a domain event: type under io.portcullis., the digest as subject, details and actor as data', () => {
    const ce = toCloudEvent({ type: 'approval.revoked', actor: 'root', target: `approval/payments/${digest}`, details: { team: 'payments', digest, reason: 'malware' } }, 'urn:test', new Date('2026-12-01T10:00:00Z'));
    expect(ce).toMatchObject({
      specversion: '1.0', source: 'urn:test', type: 'io.portcullis.approval.revoked', subject: digest, time: '2026-12-01T10:00:00.000Z',
      datacontenttype: 'application/json', data: { team: 'payments', digest, reason: 'malware', actor: 'root', target: `approval/payments/${digest}` },
    });
    expect(ce.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(toCloudEvent({ type: 'request.created', actor: 'dev', target: 'request/r1', details: {} }, 'urn:test').subject).toBe('request/r1');
  });

  it('gives an event with a stable eventId the same id every time it is made (a republished event), a UUID like the others', () => {
    const ev = (eventId: string, type = 'findings.updated') => ({ type, actor: 'system', target: `approval/payments/${digest}`, details: { team: 'payments', digest, eventId } });
    const a = toCloudEvent(ev('1-0:payments/app'), 'urn:test', new Date('2026-12-01T10:00:00Z'));
    const again = toCloudEvent(ev('1-0:payments/app'), 'urn:test', new Date('2026-12-02T10:00:00Z'));
    expect(again.id).toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.data.eventId).toBe('1-0:payments/app');
    // Another record, another team's event of the record, another type or source: another id.
    const others = [toCloudEvent(ev('2-0:payments/app'), 'urn:test'), toCloudEvent(ev('1-0:logistics/app'), 'urn:test'),
      toCloudEvent(ev('1-0:payments/app', 'approval.at_risk'), 'urn:test'), toCloudEvent(ev('1-0:payments/app'), 'urn:other')];
    expect(new Set([a.id, ...others.map((o) => o.id)]).size).toBe(5);
    // Without an eventId (or with one that is not a string) each event is new.
    const plain = { type: 'request.created', actor: 'dev', target: 'request/r1', details: { eventId: 7 } };
    expect(toCloudEvent(plain, 'urn:test').id).not.toBe(toCloudEvent(plain, 'urn:test').id);
  });

  it.each([
    [['*'], 'request.created', true],
    [['request.*'], 'request.status_changed', true],
    [['request.*'], 'requests.created', false],
    [['approval.revoked'], 'approval.revoked', true],
    [['approval.revoked'], 'approval.revoked_again', false],
    [['approval.*', 'request.rejected'], 'request.approved', false],
    // `drift` is an alias of approval.drift (issue 15's "a drift event"), and of nothing else.
    [['drift'], 'approval.drift', true],
    [['drift'], 'approval.revoked', false],
  ])('patterns %j %s subscribed: %s', (patterns, type, expected) => {
    expect(subscribed(patterns, type)).toBe(expected);
  });
});

describe('Standard Webhooks signatures', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;

  it('verifies with the standardwebhooks library, and fails it once the body or the id changes', () => {
    const body = JSON.stringify({ hello: 'world' });
    const headers = signWebhook(parseWebhookSecret(secret), 'msg_1', body);
    const wh = new Webhook(secret);
    expect(wh.verify(body, { ...headers })).toEqual({ hello: 'world' });
    expect(() => wh.verify(body.replace('world', 'w0rld'), { ...headers })).toThrow();
    expect(() => wh.verify(body, { ...headers, 'webhook-id': 'msg_2' })).toThrow();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, { ...headers })).toThrow();
  });

  it('refuses secrets that are not base64 or are too short or long, naming neither the value', () => {
    expect(() => parseWebhookSecret('whsec_not base64!')).toThrow(/not base64/);
    expect(() => parseWebhookSecret(randomBytes(8).toString('base64'))).toThrow(/24–64 bytes, not 8/);
    expect(() => parseWebhookSecret(randomBytes(80).toString('base64'))).toThrow(/24–64 bytes, not 80/);
    expect(parseWebhookSecret(randomBytes(24).toString('base64'))).toHaveLength(24);
  });

  it('resolves secrets from the environment, stopping with the key when one is missing', () => {
    const cfg = [{ name: 'chat', url: 'https://chat.example/hook', events: ['*'], secretEnv: 'HOOK_SECRET' }];
    expect(() => resolveEndpoints(cfg, {})).toThrow('config: notifications.webhooks[0].secretEnv: HOOK_SECRET is not set');
    expect(() => resolveEndpoints(cfg, { HOOK_SECRET: 'short' })).toThrow(/^config: notifications\.webhooks\[0\]\.secretEnv: HOOK_SECRET must decode/);
    expect(resolveEndpoints(cfg, { HOOK_SECRET: secret })[0]).toMatchObject({ name: 'chat', events: ['*'] });
  });

  it('queues one delivery per subscribed endpoint, with the same event id and body', async () => {
    const env = { A: secret, B: secret };
    const endpoints = resolveEndpoints([
      { name: 'a', url: 'https://a.example/', events: ['request.*'], secretEnv: 'A' },
      { name: 'b', url: 'https://b.example/', events: ['approval.*'], secretEnv: 'B' },
      { name: 'c', url: 'https://c.example/', events: ['*'], secretEnv: 'A' },
    ], env);
    const queued: Delivery[] = [];
    await webhookSubscriber(endpoints, { add: async (d) => { queued.push(d); } }, 'urn:test')({ type: 'request.rejected', actor: 'ann', target: 'request/r1', details: { team: 'payments' } });
    expect(queued.map((d) => d.endpoint)).toEqual(['a', 'c']);
    expect(queued[0].id).toBe(queued[1].id);
    expect(queued[0].body).toBe(queued[1].body);
    expect(queued[0]).toMatchObject({ type: 'io.portcullis.request.rejected', subject: 'request/r1', team: 'payments' });
  });
});
