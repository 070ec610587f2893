/**
 * Requests never stay stuck without a job (real Redis, real BullMQ queue): a failed enqueue
 * fails the request and answers 503 with its claim released; a retried POST re-queues an
 * in-flight holder whose enqueue was lost; the worker's sweep queues the next step of every
 * request in a pipeline state that has no live job (a failed one included), once, however many
 * requests with live jobs come before it, queuing at most `maxSchedules` per run.
 */
import { UnrecoverableError, Worker } from 'bullmq';
import Redis from 'ioredis';
import { BullScheduler } from '../../../queue/scheduler';
import { bullPrefix, INTAKE_QUEUE, jobId } from '../../../queue/names';
import { EventBus, Lifecycle, RequestService, sweepStuck, type JobScheduler, type PipelineStep } from '../../../src/intake';
import type { Principal } from '../../../src/lib/identity/types';
import { RedisApprovalStore, RedisRevocationStore, RedisRequestStore, type IntakeRequest, type RequestStatus } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

const dev: Principal = { name: 'dev', roles: ['developer'], teams: ['payments'] };
const input = { image: 'docker.io/library/nginx:1.25', team: 'payments', justification: 'j' };

describe('stuck requests', () => {
  let redis: Redis;
  let prefix: string;
  let store: RedisRequestStore;
  let lifecycle: Lifecycle;
  let queue: BullScheduler;

  beforeEach(() => {
    redis = new Redis(services().redis.url, { maxRetriesPerRequest: null });
    prefix = uniqueName('stuck');
    store = new RedisRequestStore(redis, prefix);
    lifecycle = new Lifecycle(store, new EventBus());
    queue = new BullScheduler(redis, prefix);
  });
  afterEach(async () => {
    await queue.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const service = (scheduler: JobScheduler) => new RequestService({ requests: store, approvals: new RedisApprovalStore(redis, prefix), revocations: new RedisRevocationStore(redis, prefix), upstreams: ['docker.io'], scheduler, lifecycle, events: new EventBus() });
  const state = (step: PipelineStep, id: string) => queue.queue.getJobState(jobId(step, id));

  it('fails the request and answers 503 when the enqueue fails; a retry starts afresh', async () => {
    const broken: JobScheduler = { schedule: async () => { throw new Error('queue down'); } };
    await expect(service(broken).create(dev, input)).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', status: 503 });
    const [failed] = (await store.list({ teams: '*', limit: 10 })).items;
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'DEPENDENCY_UNAVAILABLE' } });
    const retried = await service(queue).create(dev, input);
    expect(retried.deduplicated).toBeUndefined();
    expect(retried.request.id).not.toBe(failed.id);
    expect(await state('resolve', retried.request.id)).toBe('prioritized');
  });

  it('re-queues the in-flight holder when a retried POST is deduplicated onto it', async () => {
    // The first POST's process "died" after saving, before its enqueue.
    const lost: JobScheduler = { schedule: async () => undefined };
    const first = await service(lost).create(dev, input);
    expect(await state('resolve', first.request.id)).toBe('unknown');
    const again = await service(queue).create(dev, input);
    expect(again).toMatchObject({ deduplicated: 'in_flight', request: { id: first.request.id } });
    expect(await state('resolve', first.request.id)).toBe('prioritized');
  });

  it('sweeps requests in pipeline states without a live job, once', async () => {
    const old = '2026-01-01T00:00:00.000Z';
    const make = async (id: string, status: RequestStatus) => {
      const r: IntakeRequest = {
        id, image: input.image, team: 'payments', requestedBy: 'dev', justification: 'j', status, createdAt: old, updatedAt: old,
        source: { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }, platforms: [], scans: [], codeScans: [], policy: null,
        waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
      };
      await store.create(r);
    };
    const stuck: Array<[string, RequestStatus, PipelineStep]> = [
      ['r-requested', 'requested', 'resolve'], ['r-resolving', 'resolving', 'resolve'], ['r-staging', 'staging', 'stage'],
      ['r-scanning', 'scanning', 'scan'], ['r-promoting', 'promoting', 'promote'],
    ];
    for (const [id, status] of stuck) await make(id, status);
    for (const status of ['awaiting_approval', 'approved', 'failed', 'rejected'] as const) await make(`r-${status}`, status);
    // One request whose job is queued already, and one whose job failed (kept under its id).
    await make('r-live', 'staging');
    await queue.schedule('stage', 'r-live');
    await make('r-failed-job', 'scanning');
    await queue.schedule('scan', 'r-failed-job');
    const connection = redis.duplicate();
    const worker = new Worker(INTAKE_QUEUE, async (job) => {
      if (job.id !== jobId('scan', 'r-failed-job')) throw new Error('not for this test');
      throw new UnrecoverableError('boom');
    }, { connection, prefix: bullPrefix(prefix), autorun: false });
    const failedOnce = new Promise<void>((resolve) => worker.on('failed', (job) => { if (job?.id === jobId('scan', 'r-failed-job')) resolve(); }));
    await queue.queue.remove(jobId('stage', 'r-live'));
    void worker.run();
    await failedOnce;
    await worker.close();
    connection.disconnect();
    await queue.schedule('stage', 'r-live');
    expect(await state('scan', 'r-failed-job')).toBe('failed');

    const swept = await sweepStuck(store, queue, { minAgeMs: 0 });
    expect(swept.sort()).toEqual([...stuck.map(([id]) => id), 'r-failed-job'].sort());
    for (const [id, , step] of stuck) expect(await state(step, id)).toBe('prioritized');
    expect(await state('scan', 'r-failed-job')).toBe('prioritized');
    for (const id of ['r-awaiting_approval', 'r-approved']) expect(await state('promote', id)).toBe('unknown');
    expect(await sweepStuck(store, queue, { minAgeMs: 0 })).toEqual([]);
  });

  it('leaves a scanning request alone while its stage job lives (the stage job goes on into the scan)', async () => {
    const old = '2026-01-01T00:00:00.000Z';
    await store.create({
      id: 'r-inline', image: input.image, team: 'payments', requestedBy: 'dev', justification: 'j', status: 'scanning', createdAt: old, updatedAt: old,
      source: { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }, platforms: [], scans: [], codeScans: [], policy: null,
      waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
    });
    await queue.schedule('stage', 'r-inline');
    expect(await sweepStuck(store, queue, { minAgeMs: 0 })).toEqual([]);
    expect(await state('scan', 'r-inline')).toBe('unknown');
    // Once the stage job is gone, a request still scanning is stuck: its scan is queued.
    await queue.queue.remove(jobId('stage', 'r-inline'));
    expect(await sweepStuck(store, queue, { minAgeMs: 0 })).toEqual(['r-inline']);
    expect(await state('scan', 'r-inline')).toBe('prioritized');
  });

  const resolving = async (id: string, i: number) => {
    const at = new Date(Date.parse('2026-01-01T00:00:00Z') + i * 1000).toISOString();
    await store.create({
      id, image: input.image, team: `t${i}`, requestedBy: 'dev', justification: 'j', status: 'resolving', createdAt: at, updatedAt: at,
      source: { registry: 'docker.io', repository: 'library/nginx', tag: '1.25' }, platforms: [], scans: [], codeScans: [], policy: null,
      waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
    });
  };

  it('reaches a stuck request behind more than a page of requests with live jobs', async () => {
    // 150 older requests waiting on another run of their digest: delayed resolve jobs, live.
    for (let i = 0; i < 150; i++) {
      await resolving(`wait${i}`, i);
      await queue.queue.add('resolve', { requestId: `wait${i}` }, { jobId: jobId('resolve', `wait${i}`), delay: 600_000 });
    }
    await resolving('stuck', 500); // its enqueue was lost: no job at all
    expect(await sweepStuck(store, queue)).toEqual(['stuck']);
    expect(await state('resolve', 'stuck')).toBe('prioritized');
    expect(await sweepStuck(store, queue)).toEqual([]);
  });

  it('queues at most maxSchedules steps per run, the oldest first; the next run queues the rest', async () => {
    for (let i = 0; i < 5; i++) await resolving(`s${i}`, i);
    expect(await sweepStuck(store, queue, { pageSize: 2, maxSchedules: 3 })).toEqual(['s0', 's1', 's2']);
    expect(await sweepStuck(store, queue, { pageSize: 2, maxSchedules: 3 })).toEqual(['s3', 's4']);
    expect(await state('resolve', 's4')).toBe('prioritized');
  });

  it('leaves requests saved moments ago to their own enqueue', async () => {
    const lost: JobScheduler = { schedule: async () => undefined };
    const { request } = await service(lost).create(dev, input);
    expect(await sweepStuck(store, queue)).toEqual([]);
    expect(await sweepStuck(store, queue, { now: () => Date.parse(request.updatedAt) + 60_000 })).toEqual([request.id]);
  });
});
