/**
 * Clair's notifier → `POST /hooks/clair` on the real service (redis, docker-registry, nginx),
 * with the Clair stand-in (written from Clair's published API; its notifier posts the real
 * payload shape, pages with `next` and delivers again until it gets 200). Images are approved
 * against a Clair with no advisories; the stand-in then serves a real Clair report (quay's test
 * data, copied to test/fixtures/clair) and notifies: exactly the affected approved digests
 * (a single-platform image named directly, an index through one of its child images) are read
 * again, stored and announced with `findings.updated`; an unapproved or unknown manifest is
 * ignored; the notification is deleted once; redeliveries and concurrent deliveries apply it
 * once, also when its first deliveries failed; a callback off the notifier URL is refused and
 * never fetched. Clair does not deliver again after a 200, so a notification whose job fails
 * (the callback unreachable, a report unreadable) is kept and run again with backoff until it
 * is applied, and deleted at Clair only then; past `monitor.clairRetry.giveUpAfter` it is given
 * up with an alert and a counter.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildIndex, pushImage, pushIndex } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { createLogger } from '../../../src/lib/logger';
import { ClairScanner, clairScannerConfigSchema } from '../../../src/scanners/clair';
import { vulnerabilityReportSchema } from '../../../src/scanners/clair/api';
import { normalizeClairReport } from '../../../src/scanners/clair/normalize';
import { mergeFindings } from '../../../src/scanners/clair/images';
import { withCoverage } from '../../../src/scanners/coverage';
import { RedisScanResultStore } from '../../../src/store';
import type { DomainEvent } from '../../../src/intake/events';
import { clairJobId, clairNotificationEnqueuer, clairNotificationProcessor, startClairNotificationWorker, CLAIR_QUEUE } from '../../../queue/clair-notification';
import { bullPrefix } from '../../../queue/names';
import { workerConnection } from '../../../src/lib/redis';
import { Queue } from 'bullmq';
import { startClairStandin, type ClairStandin } from '../scanners/standins/clair';
import { debianImage } from '../scanners/standins/fixtures';
import { approveImage, until } from './fixtures';

const svc = services();
const PSK = Buffer.from('notifier test pre-shared key 32b').toString('base64');
const REAL = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/clair/vulnerabilityreport_withenrichments.json'), 'utf8')) as Record<string, unknown>;

describe('Clair notifier webhook', () => {
  let clair: ClairStandin;
  let app: TestApp;
  let hook: string;
  const events: DomainEvent[] = [];
  const digests: Record<'single' | 'index' | 'untouched' | 'unapproved' | 'child' | 'retryPages' | 'retryReport', string> = { single: '', index: '', untouched: '', unapproved: '', child: '', retryPages: '', retryReport: '' };

  beforeAll(async () => {
    clair = await startClairStandin({ psk: PSK, issuers: ['portcullis'], fixtures: [] });
    const entry = { name: 'clair', type: 'clair', url: clair.url, psk: PSK, pollIntervalMs: 100, notifierPageSize: 2 };
    const scanner = new ClairScanner(clairScannerConfigSchema.parse(entry), { registryAuthorization: async () => undefined, logger: createLogger({ level: 'silent' }) });
    // Retries in tenths of a second, so that a test sees several of them.
    app = await startTestApp({ scanners: [scanner], config: { scanners: [entry], monitor: { clairRetry: { first: '100ms', max: '300ms' } } } });
    hook = `${app.url}/hooks/clair`;
    app.services.events.subscribe((e) => { if (e.type === 'findings.updated') events.push(e); });
    const tag = uniqueName('n');
    const single = await debianImage('amd64', { 'etc/single': tag });
    const untouched = await debianImage('amd64', { 'etc/untouched': tag });
    const unapproved = await debianImage('amd64', { 'etc/unapproved': tag });
    const retryPages = await debianImage('amd64', { 'etc/retry-pages': tag });
    const retryReport = await debianImage('amd64', { 'etc/retry-report': tag });
    const children = [await debianImage('amd64', { 'etc/index': tag }), await debianImage('arm64', { 'etc/index': tag })];
    const idx = buildIndex(children);
    const repo = uniqueName('clair-notified');
    await pushImage(svc.upstream.url, `${repo}/single`, '1', single);
    await pushImage(svc.upstream.url, `${repo}/untouched`, '1', untouched);
    await pushImage(svc.upstream.url, `${repo}/unapproved`, '1', unapproved);
    await pushImage(svc.upstream.url, `${repo}/retry-pages`, '1', retryPages);
    await pushImage(svc.upstream.url, `${repo}/retry-report`, '1', retryReport);
    await pushIndex(svc.upstream.url, `${repo}/index`, '1', idx);
    digests.single = (await approveImage(app, `${svc.upstream.host}/${repo}/single:1`)).digest;
    digests.untouched = (await approveImage(app, `${svc.upstream.host}/${repo}/untouched:1`)).digest;
    digests.index = (await approveImage(app, `${svc.upstream.host}/${repo}/index:1`)).digest;
    digests.retryPages = (await approveImage(app, `${svc.upstream.host}/${repo}/retry-pages:1`)).digest;
    digests.retryReport = (await approveImage(app, `${svc.upstream.host}/${repo}/retry-report:1`)).digest;
    digests.child = children[1]!.digest;
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}/unapproved:1`, team: 'payments', justification: 'left waiting' });
    digests.unapproved = (await app.waitForStatus(created.body.id, ['awaiting_approval'])).stagedDigest;
    expect([digests.single, digests.index, digests.unapproved]).toEqual([single.digest, idx.digest, unapproved.digest]);
    // New vulnerability data at Clair: from now on its matcher serves the real report.
    clair.setVulnerabilityReport(REAL);
  });

  afterAll(async () => {
    await app?.stop();
    await clair?.close();
  });

  const deleted = (id: string) => clair.events.filter((e) => e === `notification delete ${id}`).length;
  const pages = (id: string) => clair.events.filter((e) => e.startsWith(`notification page ${id} `));
  const stored = (digest: string) => new RedisScanResultStore(app.redis, app.config.redis.prefix).get('clair', digest);

  it('re-reads exactly the affected approved digests, stores their findings, publishes findings.updated and deletes the notification once', async () => {
    const unknown = [`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`];
    const delivery = await clair.notifier.notify({ target: hook, sign: PSK, manifests: [digests.single, unknown[0]!, digests.child, digests.unapproved, unknown[1]!], redeliveries: 3 });
    expect(delivery.statuses).toEqual([200, 200, 200, 200]);
    await until('the notification deleted', () => (deleted(delivery.id) > 0 ? true : undefined));

    // Five manifests, page_size 2: three pages, each with the same page_size, `next` followed.
    const seen = pages(delivery.id);
    expect(seen).toHaveLength(3);
    expect(seen.every((p) => p.includes(' size=2 '))).toBe(true);
    expect(seen[0]!.endsWith('next=')).toBe(true);
    expect(seen[1]!.endsWith('next=')).toBe(false);

    const expected = withCoverage(mergeFindings([normalizeClairReport(vulnerabilityReportSchema.parse({ ...REAL, manifest_hash: digests.single }))]));
    expect(expected.filter((f) => f.kind === 'vulnerability').length).toBeGreaterThan(5);
    for (const d of [digests.single, digests.index]) {
      const report = await stored(d);
      expect(report?.status).toBe('succeeded');
      expect(report!.findings.map((f) => `${f.id}|${f.package}|${f.installedVersion}`).sort()).toEqual(expected.map((f) => `${f.id}|${f.package}|${f.installedVersion}`).sort());
    }
    // Untouched and unapproved digests keep the reports of their scans (no advisories then).
    for (const d of [digests.untouched, digests.unapproved]) expect((await stored(d))?.findings.filter((f) => f.kind === 'vulnerability')).toEqual([]);
    expect(events.map((e) => e.details.digest).sort()).toEqual([digests.single, digests.index].sort());
    expect(events.every((e) => e.details.scanner === 'clair' && e.details.team === 'payments')).toBe(true);
    expect(deleted(delivery.id)).toBe(1);

    // Delivered again after it was applied: answered 200 at once, nothing read or deleted again.
    const again = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${signed()}` }, body: JSON.stringify({ callback: delivery.callback, notification_id: delivery.id }) });
    expect([again.status, await again.json()]).toEqual([200, { status: 'already_applied' }]);
    expect(pages(delivery.id)).toHaveLength(3);
    expect(deleted(delivery.id)).toBe(1);
    expect(events).toHaveLength(2);
  });

  it('many concurrent deliveries of one notification make one job', async () => {
    // A notification not delivered yet, then its body posted 40 times at once (several notifier replicas delivering).
    const first = await clair.notifier.notify({ target: hook, sign: PSK, manifests: [digests.single], maxAttempts: 0 });
    expect(first.statuses).toEqual([]);
    const body = JSON.stringify({ callback: first.callback, notification_id: first.id });
    const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${signed()}` }, body })).status));
    expect(new Set(statuses)).toEqual(new Set([200]));
    await until('the notification deleted', () => (deleted(first.id) > 0 ? true : undefined));
    const jobs = await app.services.clairQueue.queue.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed']);
    expect(jobs.filter((j) => (j.data as { notificationId?: string }).notificationId === first.id)).toHaveLength(1);
    expect(pages(first.id)).toHaveLength(1);
    expect(deleted(first.id)).toBe(1);
  });

  it('a notifier whose first deliveries fail (a load balancer answering 503) delivers again until 200; applied once', async () => {
    // A relay in front of the hook: 503 twice, then it passes deliveries through.
    let seenByRelay = 0;
    const relay = createServer((req, res) => {
      seenByRelay += 1;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (seenByRelay <= 2) { res.writeHead(503).end(); return; }
        fetch(hook, { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '', authorization: req.headers.authorization ?? '' }, body: Buffer.concat(chunks) })
          .then(async (r) => { res.writeHead(r.status, { 'content-type': 'application/json' }).end(Buffer.from(await r.arrayBuffer())); })
          .catch(() => res.writeHead(502).end());
      });
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    try {
      const before = events.length;
      const delivery = await clair.notifier.notify({ target: `http://127.0.0.1:${(relay.address() as { port: number }).port}/hooks/clair`, sign: PSK, manifests: [digests.untouched], redeliveries: 1 });
      expect(delivery.statuses).toEqual([503, 503, 200, 200]);
      await until('the notification deleted', () => (deleted(delivery.id) > 0 ? true : undefined));
      expect(pages(delivery.id)).toHaveLength(1);
      expect(deleted(delivery.id)).toBe(1);
      expect(events.slice(before).map((e) => e.details.digest)).toEqual([digests.untouched]);
    } finally {
      relay.close();
    }
  });

  const vulnerabilities = async (d: string) => (await stored(d))?.findings.filter((f) => f.kind === 'vulnerability').length ?? 0;

  it('a notification whose callback fails every run is kept and run again with backoff, then applied and deleted once the notifier answers', async () => {
    const before = events.length;
    clair.setFaults({ notifier: true });
    let delivery: Awaited<ReturnType<typeof clair.notifier.notify>> | undefined;
    try {
      delivery = await clair.notifier.notify({ target: hook, sign: PSK, manifests: [digests.retryPages] });
      expect(delivery.statuses).toEqual([200]);
      const id = delivery.id;
      // More runs than a BullMQ job's attempts were (8): each run failed on the callback, none deleted anything.
      await until('nine failed runs', () => (clair.events.filter((e) => e === `notifier 503 ${id}`).length >= 9 ? true : undefined));
      const job = await app.services.clairQueue.queue.getJob(clairJobId(id));
      expect(['delayed', 'waiting', 'active']).toContain(await job?.getState());
      expect(deleted(id)).toBe(0);
      expect(await vulnerabilities(digests.retryPages)).toBe(0);
    } finally {
      clair.setFaults({});
    }
    await until('the notification deleted', () => (deleted(delivery.id) > 0 ? true : undefined));
    expect(await vulnerabilities(digests.retryPages)).toBeGreaterThan(5);
    expect(events.slice(before).map((e) => e.details.digest)).toEqual([digests.retryPages]);
    expect(deleted(delivery.id)).toBe(1);
    expect(pages(delivery.id)).toHaveLength(1);
    const { body } = await app.services.metrics.exposition();
    expect(body).toMatch(/^portcullis_clair_notifications_total\{scanner="clair",outcome="retried"\} (9|\d\d+)$/m);
  });

  it('a report that cannot be read again keeps the notification (not deleted) until a later run reads it; the others are not read again', async () => {
    const before = events.length;
    clair.setFaults({ matcher: [digests.retryReport] });
    let delivery: Awaited<ReturnType<typeof clair.notifier.notify>> | undefined;
    let singleReadAt: string | undefined;
    try {
      delivery = await clair.notifier.notify({ target: hook, sign: PSK, manifests: [digests.retryReport, digests.single] });
      expect(delivery.statuses).toEqual([200]);
      await until('three failed report reads', () => (clair.events.filter((e) => e === `matcher 500 ${digests.retryReport}`).length >= 3 ? true : undefined));
      expect(deleted(delivery.id)).toBe(0);
      expect(await vulnerabilities(digests.retryReport)).toBe(0);
      singleReadAt = (await stored(digests.single))?.finishedAt;
    } finally {
      clair.setFaults({});
    }
    await until('the notification deleted', () => (deleted(delivery.id) > 0 ? true : undefined));
    expect(await vulnerabilities(digests.retryReport)).toBeGreaterThan(5);
    // The digest read in the first run was not read again by the later ones (its stored report is that run's).
    expect(singleReadAt).toBeDefined();
    expect((await stored(digests.single))?.finishedAt).toBe(singleReadAt);
    expect(events.slice(before).map((e) => e.details.digest)).toEqual([digests.retryReport]);
    expect(deleted(delivery.id)).toBe(1);
  });

  it('past monitor.clairRetry.giveUpAfter a notification is given up: an alert and a counter, and it stays at Clair', async () => {
    // The app's own processor, with a give-up bound of two seconds, on a queue of its own.
    const prefix = uniqueName('clair-giveup');
    const queue = new Queue(CLAIR_QUEUE, { connection: app.redis, prefix: bullPrefix(prefix) });
    const alerts: DomainEvent[] = [];
    app.services.events.subscribe((e) => { if (e.type === 'clair.notification_abandoned') alerts.push(e); });
    const processor = clairNotificationProcessor(app.services.rescans.clairNotifications, createLogger({ level: 'silent' }), {
      retry: { firstMs: 100, maxMs: 200, giveUpAfterMs: 2000 },
      observe: (scanner, outcome) => app.services.metrics.clairNotifications.inc({ scanner, outcome }),
    });
    const worker = startClairNotificationWorker(workerConnection(app.config.redis), prefix, processor, createLogger({ level: 'silent' }));
    clair.setFaults({ notifier: true });
    try {
      const delivery = await clair.notifier.notify({ target: hook, sign: PSK, manifests: [digests.single], maxAttempts: 0 });
      await clairNotificationEnqueuer(queue)({ scanner: 'clair', notificationId: delivery.id, callback: delivery.callback });
      const alert = await until('the alert', () => alerts.find((e) => e.details.notificationId === delivery.id));
      expect(alert).toMatchObject({ actor: 'system', target: `clair-notification/${delivery.id}`, details: { scanner: 'clair' } });
      expect(Number(alert.details.tries)).toBeGreaterThanOrEqual(2);
      // Failed for good once the run that raised the alert ends.
      await until('the job failed', async () => ((await (await queue.getJob(clairJobId(delivery.id)))?.getState()) === 'failed' ? true : undefined));
      expect(deleted(delivery.id)).toBe(0);
      const { body } = await app.services.metrics.exposition();
      expect(body).toMatch(/^portcullis_clair_notifications_total\{scanner="clair",outcome="abandoned"\} 1$/m);
    } finally {
      clair.setFaults({});
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('refuses a callback off the notifier URL (never fetched) and unauthenticated or malformed posts', async () => {
    let trapped = 0;
    const trap = createServer((_req, res) => { trapped += 1; res.end('{}'); });
    trap.listen(0, '127.0.0.1');
    await once(trap, 'listening');
    const trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}`;
    try {
      const hostile = await clair.notifier.notify({ target: hook, sign: PSK, manifests: [digests.single], callback: `${trapUrl}/notifier/api/v1/notification/x`, maxAttempts: 3 });
      expect(hostile.statuses).toEqual([400, 400, 400]);
      const post = async (body: unknown, headers: Record<string, string> = {}) => {
        const res = await fetch(hook, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${signed()}`, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
        return [res.status, ((await res.json()) as { error?: { code: string } }).error?.code];
      };
      const id = '6e4ad270-4957-4242-b5ad-dad851379573';
      expect(await post({ notification_id: id, callback: `${trapUrl}/notifier/api/v1/notification/${id}` })).toEqual([400, 'CALLBACK_REFUSED']);
      expect(await post({ notification_id: id, callback: `${clair.url.replace('127.0.0.1', 'user:pw@127.0.0.1')}/notifier/api/v1/notification/${id}` })).toEqual([400, 'CALLBACK_REFUSED']);
      expect(await post({ notification_id: id, callback: `${clair.url}/notifier/api/v1/notification/${id}?next=x` })).toEqual([400, 'CALLBACK_REFUSED']);
      expect(await post({ notification_id: id, callback: `${clair.url}/notifier/api/v1/notification/another` })).toEqual([400, 'CALLBACK_REFUSED']);
      expect(await post({ notification_id: 'not-a-uuid', callback: `${clair.url}/x/not-a-uuid` })).toEqual([400, 'INVALID_REQUEST']);
      expect(await post('{"notification_id": ')).toEqual([400, 'INVALID_REQUEST']);
      expect(await post({ notification_id: id, callback: 'x'.repeat(9000) })).toEqual([413, 'BODY_TOO_LARGE']);
      expect(await post('plain', { 'content-type': 'text/plain' })).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
      expect(await post({ notification_id: id, callback: '' }, { authorization: '' })).toEqual([401, 'UNAUTHENTICATED']);
      expect(await post({ notification_id: id, callback: '' }, { authorization: `Bearer ${signed(Buffer.from('another key of thirty-two bytes!').toString('base64'))}` })).toEqual([401, 'TOKEN_SIGNATURE_INVALID']);
      expect(await post({ notification_id: id, callback: '' }, { authorization: `Bearer ${signed(PSK, -3600)}` })).toEqual([401, 'TOKEN_EXPIRED']);
      expect(await post({ notification_id: id, callback: '' }, { authorization: `Bearer ${signed(PSK, 0, 'portcullis')}` })).toEqual([401, 'TOKEN_ISSUER_UNKNOWN']);
      expect(trapped).toBe(0);
      expect(deleted(hostile.id)).toBe(0);
      expect(pages(hostile.id)).toEqual([]);
    } finally {
      trap.close();
    }
  });
});

/** A notifier token as Clair signs it (internal/httputil/signer.go), shifted by `shiftS`. */
function signed(psk = PSK, shiftS = 0, iss = 'clair-notifier'): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000) + shiftS;
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss, iat: now, nbf: now - 60, exp: now + 60 })}`;
  return `${input}.${createHmac('sha256', Buffer.from(psk, 'base64')).update(input).digest('base64url')}`;
}

describe('Clair hook failed authentications per address', () => {
  it('are limited as on /v1: past the limit a bad token gets 429', async () => {
    const app = await startTestApp({ worker: false, config: { server: { host: '127.0.0.1', port: 0, rateLimitPerMinute: 3 }, scanners: [{ name: 'clair', type: 'clair', url: 'http://127.0.0.1:9', psk: PSK }] } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${app.url}/hooks/clair`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong' }, body: '{}' });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await app.stop();
    }
  });
});
