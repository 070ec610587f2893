/**
 * A Clair notification whose job BullMQ fails for stalling too often is queued again by the
 * sweep (queue/clair-notification.ts), on the real BullMQ and Redis with the Clair stand-in
 * (written from Clair's published API) and the real Clair adapter.
 *
 * The stalls are made as BullMQ sees a worker die mid-job: a worker takes the job (its lock
 * set, never renewed) and the lock expires; BullMQ's stalled check hands it back, six times,
 * one more than the workers' `maxStalledCount` (5); the next worker to take it fails it ("job
 * stalled more than allowable limit") without running it. Clair does not deliver again, so
 * before the sweep existed the notification stayed unapplied and undeleted at Clair for good.
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import type { DomainEvent } from '../../../src/intake/events';
import { ApprovedDigests } from '../../../src/monitor/approved-digests';
import { ClairNotificationService, pendingKey } from '../../../src/monitor/clair-notifications';
import { FindingsOutbox } from '../../../src/monitor/findings-outbox';
import type { RegistryClient } from '../../../src/registry/types';
import { ClairScanner, clairScannerConfigSchema } from '../../../src/scanners/clair';
import { RedisApprovalStore, RedisRequestStore } from '../../../src/store';
import {
  CLAIR_QUEUE, CLAIR_SWEEP_JOB, clairJobId, clairNotificationEnqueuer, clairNotificationProcessor, clairSweepProcessor, startClairNotificationWorker,
} from '../../../queue/clair-notification';
import { bullPrefix } from '../../../queue/names';
import { services, uniqueName } from '../../harness/services';
import { startClairStandin, type ClairStandin } from '../scanners/standins/clair';
import { until } from './fixtures';

const logger = createLogger({ level: 'silent' });
const HOUR = 3600_000;

describe('Clair notification jobs failed by BullMQ for stalling', () => {
  let clair: ClairStandin;
  let redis: Redis;
  let prefix: string;
  let queue: Queue;
  let service: ClairNotificationService;
  const alerts: DomainEvent[] = [];
  const workers: Worker[] = [];

  beforeAll(async () => {
    clair = await startClairStandin({ fixtures: [] });
    redis = new Redis(services().redis.url, { maxRetriesPerRequest: null });
    prefix = uniqueName('clair-stalled');
    queue = new Queue(CLAIR_QUEUE, { connection: redis, prefix: bullPrefix(prefix) });
    const scanner = new ClairScanner(clairScannerConfigSchema.parse({ name: 'clair', type: 'clair', url: clair.url, pollIntervalMs: 100 }), { registryAuthorization: async () => undefined, logger });
    // No approved digest: applying a notification is paging its callback, then deleting it.
    service = new ClairNotificationService({
      scanners: new Map([['clair', scanner]]), approved: new ApprovedDigests(redis, prefix), redis, prefix, logger,
      targets: { approvals: new RedisApprovalStore(redis, prefix), requests: new RedisRequestStore(redis, prefix), internal: {} as RegistryClient, internalUrl: 'http://127.0.0.1:9' },
      events: { publish: async (e) => { alerts.push(e); } }, outbox: new FindingsOutbox(redis, prefix),
    });
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await queue?.obliterate({ force: true });
    await queue?.close();
    redis?.disconnect();
    await clair?.close();
  });

  const deleted = (id: string) => clair.events.filter((e) => e === `notification delete ${id}`).length;
  const pages = (id: string) => clair.events.filter((e) => e.startsWith(`notification page ${id} `)).length;
  const sweep = (now = Date.now) => clairSweepProcessor(queue, service, logger, { giveUpAfterMs: HOUR, now });
  /** What the hook does once it accepted a delivery (src/monitor/rescan-wiring.ts). */
  const accept = async (n: { scanner: string; notificationId: string; callback: string }, at?: number) => {
    await service.received(n, at);
    await clairNotificationEnqueuer(queue)(n);
  };

  it('is queued again by the sweep, applied and deleted at Clair once', async () => {
    const delivery = await clair.notifier.notify({ target: 'http://127.0.0.1:9/hooks/clair', manifests: [`sha256:${'3'.repeat(64)}`], maxAttempts: 0 });
    const n = { scanner: 'clair', notificationId: delivery.id, callback: delivery.callback };
    await accept(n);
    const id = clairJobId(delivery.id);

    // Six times: taken by a worker that dies (its lock never renewed), handed back by the stalled check.
    const dying = new Worker(CLAIR_QUEUE, undefined, { connection: redis, prefix: bullPrefix(prefix), autorun: false, lockDuration: 300, stalledInterval: 100, maxStalledCount: 5 });
    workers.push(dying);
    // BullMQ's own stalled check, every 100 ms (what every worker runs).
    await dying.startStalledCheckTimer();
    for (let i = 0; i < 6; i++) {
      const job = (await dying.getNextJob(randomUUID())) as Job | undefined;
      expect(job?.id).toBe(id);
      await until(`stall ${i + 1} handed back`, async () => ((await queue.getJobState(id)) === 'waiting' ? true : undefined));
    }
    await dying.close();

    // A live worker takes it and fails it for good without running it.
    const processor = clairNotificationProcessor(service, logger, { retry: { firstMs: 100, maxMs: 200, giveUpAfterMs: HOUR } });
    const live = startClairNotificationWorker(redis, prefix, processor, logger, { sweep: sweep() });
    workers.push(live);
    await until('the job failed', async () => ((await queue.getJobState(id)) === 'failed' ? true : undefined));
    expect((await queue.getJob(id))?.failedReason).toBe('job stalled more than allowable limit');
    expect([pages(delivery.id), deleted(delivery.id)]).toEqual([0, 0]);
    expect(await redis.hexists(pendingKey(prefix), delivery.id)).toBe(1);

    // The sweep job, run by the live worker, queues it again: applied and deleted once.
    await queue.add(CLAIR_SWEEP_JOB, {}, { removeOnComplete: true });
    await until('the notification deleted', () => (deleted(delivery.id) > 0 ? true : undefined));
    await until('the job completed', async () => ((await queue.getJobState(id)) === 'completed' ? true : undefined));
    expect(await redis.hexists(pendingKey(prefix), delivery.id)).toBe(0);

    // Idempotent: sweeps at once after it was applied queue nothing; a late record (a
    // redelivery accepted as it was being applied) is only forgotten, never applied twice.
    expect(await Promise.all([sweep()(), sweep()(), sweep()()])).toEqual(Array.from({ length: 3 }, () => ({ requeued: [], abandoned: [] })));
    await service.received(n);
    expect(await sweep()()).toEqual({ requeued: [delivery.id], abandoned: [] });
    await until('the late record forgotten', async () => ((await redis.hexists(pendingKey(prefix), delivery.id)) === 0 ? true : undefined));
    expect([pages(delivery.id), deleted(delivery.id)]).toEqual([1, 1]);
  });

  it('leaves a notification whose job is queued or running alone, and gives up one pending past giveUpAfter', async () => {
    const waiting = await clair.notifier.notify({ target: 'http://127.0.0.1:9/hooks/clair', manifests: [], maxAttempts: 0 });
    const lost = await clair.notifier.notify({ target: 'http://127.0.0.1:9/hooks/clair', manifests: [], maxAttempts: 0 });
    // One waits an hour (delayed); the other was accepted two hours ago and its job is gone.
    await service.received({ scanner: 'clair', notificationId: waiting.id, callback: waiting.callback });
    await queue.add('clair-notification', { scanner: 'clair', notificationId: waiting.id, callback: waiting.callback }, { jobId: clairJobId(waiting.id), delay: HOUR });
    await service.received({ scanner: 'clair', notificationId: lost.id, callback: lost.callback }, Date.now() - 2 * HOUR);

    const out = await sweep()();
    expect(out).toEqual({ requeued: [], abandoned: [lost.id] });
    expect(alerts.filter((e) => e.type === 'clair.notification_abandoned').map((e) => e.details.notificationId)).toEqual([lost.id]);
    expect(await queue.getJobState(clairJobId(lost.id))).toBe('unknown');
    expect(await queue.getJobState(clairJobId(waiting.id))).toBe('delayed');
    expect(await redis.hkeys(pendingKey(prefix))).toEqual([waiting.id]);
    // Given up is never deleted at Clair (it stays there, unapplied).
    expect(deleted(lost.id)).toBe(0);
  });

  it('raises no alert for a notification applied between the sweep listed it and looked at its job', async () => {
    const done = await clair.notifier.notify({ target: 'http://127.0.0.1:9/hooks/clair', manifests: [], maxAttempts: 0 });
    const n = { scanner: 'clair', notificationId: done.id, callback: done.callback };
    await service.received(n, Date.now() - 2 * HOUR);
    // The sweep lists it; then its job applies it (the pending record goes) before the sweep looks at the job (gone: 'unknown').
    const listed = await service.pending();
    expect(listed.map((p) => p.notificationId)).toContain(done.id);
    await redis.hdel(pendingKey(prefix), done.id);
    const before = alerts.length;
    const out = await clairSweepProcessor(queue, { pending: async () => listed, isPending: (id) => service.isPending(id), abandon: (x, f) => service.abandon(x, f) }, logger, { giveUpAfterMs: HOUR })();
    expect(out.abandoned).not.toContain(done.id);
    expect(out.requeued).not.toContain(done.id);
    expect(alerts.slice(before).filter((e) => e.type === 'clair.notification_abandoned')).toEqual([]);
  });
});
