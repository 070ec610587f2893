/**
 * An event the findings outbox publishes again (its writer died before settling it) is the same
 * CloudEvent: same id, so the webhook queue (real BullMQ on the real Redis) holds one delivery
 * per endpoint for it, and a receiver that already had it sees the same `webhook-id`. Events
 * without a stable `eventId` stay distinct, each with its own delivery.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { webhookSubscriber, parseWebhookSecret, type Endpoint, type OutboundEvent } from '../../../src/events';
import { WebhookQueue } from '../../../queue/webhook';
import { services, uniqueName } from '../../harness/services';

describe('a republished event', () => {
  const svc = services();
  let redis: Redis;
  let queue: WebhookQueue;
  const secret = parseWebhookSecret(`whsec_${randomBytes(32).toString('base64')}`);
  const endpoints: Endpoint[] = [
    { name: 'siem', url: 'http://127.0.0.1:9/hook', events: ['findings.updated', 'request.*'], secret },
    { name: 'chat', url: 'http://127.0.0.1:9/chat', events: ['*'], secret },
  ];
  const digest = `sha256:${'ab'.repeat(32)}`;
  const findings = (eventId: string): OutboundEvent => ({
    type: 'findings.updated', actor: 'system', target: `approval/payments/${digest}`,
    details: { team: 'payments', repository: 'approved/payments/app', digest, scanner: 'builtin', dbVersion: 'v2', eventId },
  });

  beforeAll(() => {
    redis = new Redis(svc.redis.url, { maxRetriesPerRequest: null });
    queue = new WebhookQueue(redis, uniqueName('repeat'));
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
  });

  it('is queued once per endpoint, under the same id; other events stay distinct', async () => {
    const publish = webhookSubscriber(endpoints, queue, 'urn:portcullis');
    const ids = async () => (await queue.queue.getJobs(['waiting', 'delayed', 'active', 'failed'])).map((j) => j.id).sort();

    await publish(findings('1733130000000-7:payments/approved/payments/app'));
    const first = await ids();
    expect(first).toHaveLength(2);
    // The outbox's sweep publishes the same record again.
    await publish(findings('1733130000000-7:payments/approved/payments/app'));
    expect(await ids()).toEqual(first);
    const bodies = (await queue.queue.getJobs(['waiting'])).map((j) => JSON.parse((j.data as { body: string }).body) as { id: string });
    expect(new Set(bodies.map((b) => b.id)).size).toBe(1);
    expect(first).toEqual(endpoints.map((e) => `${e.name}-${bodies[0].id}`).sort());

    // Another team's event of the same record, and an event with no eventId twice: all distinct.
    await publish(findings('1733130000000-7:logistics/approved/logistics/app'));
    const created: OutboundEvent = { type: 'request.created', actor: 'dev', target: 'request/r1', details: { team: 'payments' } };
    await publish(created);
    await publish(created);
    expect(await ids()).toHaveLength(8);
  });
});
