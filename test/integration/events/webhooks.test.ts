/**
 * Signed webhooks end to end on real services: a request goes through the pipeline and its
 * events reach a real HTTP receiver on loopback that verifies every delivery with the
 * `standardwebhooks` library. The receiver fails the first attempt of each event (the retry
 * carries the same webhook-id and body, signed afresh); a second endpoint answers 410 Gone and
 * is disabled until an admin enables it; every attempt is listed, within the caller's teams.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import type { CloudEvent } from '../../../src/events';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { until } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';

interface Received { id: string; event: CloudEvent; contentType: string | undefined }

/** A receiver that verifies signatures; `answer` decides the status of each verified delivery. */
async function receiver(secret: string, answer: (id: string, attempt: number) => number): Promise<{ server: Server; url: string; got: Received[]; bad: number; hits: number }> {
  const wh = new Webhook(secret);
  const attempts = new Map<string, number>();
  const state = { got: [] as Received[], bad: 0, hits: 0 };
  const server = createServer((req, res) => {
    state.hits += 1;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      try {
        const event = wh.verify(body, req.headers as Record<string, string>) as CloudEvent;
        const id = String(req.headers['webhook-id']);
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        const status = answer(id, n);
        if (status < 300) state.got.push({ id, event, contentType: req.headers['content-type'] });
        res.writeHead(status).end();
      } catch {
        state.bad += 1;
        res.writeHead(400).end();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/hook`, get got() { return state.got; }, get bad() { return state.bad; }, get hits() { return state.hits; } };
}

describe('signed webhooks', () => {
  const svc = services();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const goneSecret = `whsec_${randomBytes(32).toString('base64')}`;
  let app: TestApp;
  let flaky: Awaited<ReturnType<typeof receiver>>;
  let gone: Awaited<ReturnType<typeof receiver>>;
  let goneAnswers410 = true;

  beforeAll(async () => {
    flaky = await receiver(secret, (_id, attempt) => (attempt === 1 ? 503 : 204));
    gone = await receiver(goneSecret, () => (goneAnswers410 ? 410 : 200));
    process.env.PORTCULLIS_TEST_HOOK_SECRET = secret;
    process.env.PORTCULLIS_TEST_GONE_SECRET = goneSecret;
    app = await startTestApp({
      config: {
        notifications: {
          retryBaseMs: 50,
          webhooks: [
            { name: 'chat', url: flaky.url, events: ['request.*'], secretEnv: 'PORTCULLIS_TEST_HOOK_SECRET' },
            { name: 'ticketing', url: gone.url, events: ['request.created'], secretEnv: 'PORTCULLIS_TEST_GONE_SECRET' },
          ],
        },
      },
    });
  });
  afterAll(async () => {
    await app.stop();
    flaky.server.close();
    gone.server.close();
    delete process.env.PORTCULLIS_TEST_HOOK_SECRET;
    delete process.env.PORTCULLIS_TEST_GONE_SECRET;
  });

  it('delivers each event signed, as a CloudEvent, retrying a failure with the same id; a 410 disables its endpoint', async () => {
    const repo = uniqueName('hooks');
    await pushImage(svc.upstream.url, repo, '1.0', await buildImage({ layers: [{ files: { 'etc/motd': 'hi' } }] }));
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'webhooks' });
    expect(created.status).toBe(202);
    const id = created.body.id as string;
    await app.waitForStatus(id, ['awaiting_approval']);

    // The receiver refused every first attempt: what it holds came from retries, verified.
    const toAwaiting = await until('the awaiting_approval event', () => flaky.got.find((g) => g.event.type === 'io.portcullis.request.status_changed' && g.event.data.to === 'awaiting_approval'));
    expect(toAwaiting.event).toMatchObject({ specversion: '1.0', source: 'urn:portcullis', datacontenttype: 'application/json', data: { team: 'payments', target: `request/${id}` } });
    expect(toAwaiting.event.subject).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(toAwaiting.id).toBe(toAwaiting.event.id);
    // Structured content mode of the CloudEvents HTTP binding (3.2.1): the JSON event format's media type.
    expect(toAwaiting.contentType).toBe('application/cloudevents+json; charset=UTF-8');
    const createdEvent = await until('request.created', () => flaky.got.find((g) => g.event.type === 'io.portcullis.request.created'));
    expect(createdEvent.event.data).toMatchObject({ actor: 'dev', image: `${svc.upstream.host}/${repo}:1.0` });
    expect(flaky.bad).toBe(0);
    expect(new Set(flaky.got.map((g) => g.id)).size).toBe(flaky.got.length); // one success per event

    const deliveries = await until('the delivery records', async () => {
      const r = await app.call('admin', 'GET', '/v1/notifications/deliveries?limit=200');
      const items = r.body.items as Array<{ id: string; endpoint: string; outcome: string; attempt: number; status?: number }>;
      return items.some((d) => d.id === toAwaiting.id && d.outcome === 'delivered') ? items : undefined;
    });
    const mine = deliveries.filter((d) => d.id === toAwaiting.id).map((d) => [d.attempt, d.outcome, d.status]);
    expect(mine).toEqual([[2, 'delivered', 204], [1, 'retrying', 503]]);
    expect(deliveries.find((d) => d.endpoint === 'ticketing')).toMatchObject({ outcome: 'disabled', status: 410, attempt: 1 });

    // Disabled: the next request's event is not sent to it (its job records `disabled` and stops;
    // the receiver saw nothing after the 410), then an admin of every team enables it again.
    expect(gone.hits).toBe(1);
    const whileDisabled = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${uniqueName('off')}:1.0`, team: 'payments', justification: 'while disabled' });
    expect(whileDisabled.status).toBe(202);
    const skipped = await until('the skipped delivery', async () => {
      const r = await app.call('admin', 'GET', '/v1/notifications/deliveries?limit=200');
      return (r.body.items as Array<{ endpoint: string; subject: string; outcome: string; error?: string; status?: number }>)
        .find((d) => d.endpoint === 'ticketing' && d.subject === `request/${whileDisabled.body.id}`);
    });
    expect(skipped).toMatchObject({ outcome: 'disabled', error: 'endpoint disabled', attempt: 1 });
    expect(skipped.status).toBeUndefined();
    expect(gone.hits).toBe(1);
    expect(gone.got).toEqual([]);
    goneAnswers410 = false;
    const enable = await app.call('admin', 'POST', '/v1/notifications/endpoints/ticketing/enable');
    expect(enable.body).toEqual({ endpoint: 'ticketing', enabled: true, wasDisabled: true });
    expect((await app.call('approver', 'POST', '/v1/notifications/endpoints/ticketing/enable')).status).toBe(403);
    expect((await app.call('admin', 'POST', '/v1/notifications/endpoints/nope/enable')).status).toBe(404);
    const again = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'logistics', justification: 'x' });
    expect(again.status).toBe(403); // dev is not in logistics: nothing happens, nothing sent
    const second = await app.call('devApprover', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${uniqueName('none')}:1.0`, team: 'payments', justification: 'again' });
    await until('delivery to the enabled endpoint', () => gone.got.find((g) => g.event.data.target === `request/${second.body.id}`));

    // portcullis_webhook_deliveries_total counts every attempt by outcome, as the delivery log
    // lists them and the receivers saw them: every delivered attempt verified, each event's first
    // attempt at `chat` refused (503), two attempts at `ticketing` disabled. Events still flow (the
    // requests move on): compared once all three agree, when no attempt is between them.
    const counted = (text: string, outcome: string) => Number(new RegExp(`^portcullis_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const outcomes = ['delivered', 'retrying', 'failed', 'disabled'] as const;
    await until('the delivery metrics, log and receivers to agree', async () => {
      const page = (await app.call('admin', 'GET', '/v1/notifications/deliveries?limit=200')).body;
      const { body } = await app.services.metrics.exposition();
      const logged = Object.fromEntries(outcomes.map((o) => [o, (page.items as Array<{ outcome: string }>).filter((d) => d.outcome === o).length]));
      const received = { delivered: flaky.got.length + gone.got.length, retrying: flaky.got.length, failed: 0, disabled: 2 };
      return !page.next && outcomes.every((o) => counted(body, o) === logged[o] && logged[o] === received[o]) || undefined;
    });
  });

  it('lists deliveries only within the caller\'s teams, and only to admins and auditors', async () => {
    expect((await app.call('dev', 'GET', '/v1/notifications/deliveries')).status).toBe(403);
    const auditor = await app.call('auditor', 'GET', '/v1/notifications/deliveries?limit=5');
    expect(auditor.status).toBe(200);
    expect(auditor.body.items.length).toBeGreaterThan(0);
    expect((await app.call('auditor', 'GET', '/v1/notifications/deliveries?cursor=nope')).status).toBe(400);
  });
});
