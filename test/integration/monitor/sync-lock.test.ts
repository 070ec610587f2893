/**
 * One sync at a time across workers, on the real Redis, with the lease the job holds
 * (queue/vulndb-sync.ts): each worker has its own connection and lease keeper thread, as main.ts
 * builds them. Of many workers that try to sync the same scanner at once, one runs and the others
 * are skipped; a sync that lasts many times the lease's TTL keeps it (renewed), so the other
 * worker's jobs are skipped until it ends; a worker killed mid-sync (its keeper gone, its sync
 * never ending) leaves the lease to lapse one TTL later and the other worker syncs (with the old
 * 6-hour lock it was blocked for up to 6 hours). The sync itself is one the test holds open.
 * The schedule is one BullMQ job scheduler entry per scanner, whatever the number of workers.
 */
import Redis from 'ioredis';
import type { Job } from 'bullmq';
import { createLogger } from '../../../src/lib/logger';
import type { VulndbSyncOutcome } from '../../../src/monitor/vulndb-sync';
import { LeaseKeeper, RedisStepLeases } from '../../../src/store';
import { MonitorQueue, SYNC_LEASE_SCOPE, syncSchedulerId, vulndbSyncProcessor } from '../../../queue/vulndb-sync';
import { services, uniqueName } from '../../harness/services';
import { until } from './fixtures';

const TTL_MS = 1500;
const SCANNER = 'builtin';
const logger = createLogger({ level: 'silent' });
const settings = (url: string) => ({ url, prefix: 'unused', sentinels: [], commandTimeoutMs: 5000, replicasToAck: 0, replicaAckTimeoutMs: 0 });

interface TestWorker {
  redis: Redis;
  keeper: LeaseKeeper;
  leases: RedisStepLeases;
  /** Syncs started on this worker; the test ends each. */
  syncs: Array<{ end: () => void }>;
  /** Runs the job once, as the monitor queue's worker would: resolves with the job's result. */
  job(): Promise<unknown>;
  /** Runs the job once: 'skipped' when another worker holds the lease, 'syncing' once its sync started (it goes on). */
  tryJob(): Promise<'skipped' | 'syncing'>;
}

function worker(prefix: string): TestWorker {
  const redis = new Redis(services().redis.url);
  const keeper = new LeaseKeeper({ settings: settings(services().redis.url), renewEveryMs: 100, maxStallMs: 60_000 });
  const leases = new RedisStepLeases(redis, prefix, { ttlMs: TTL_MS, keeper });
  const syncs: TestWorker['syncs'] = [];
  let started: () => void = () => undefined;
  const sync = (name: string) => new Promise<VulndbSyncOutcome>((resolve) => {
    syncs.push({ end: () => resolve({ scanner: name, before: 'v1', after: 'v2', sync: { dbVersion: 'v2', records: 0, files: 0 } as unknown as VulndbSyncOutcome['sync'] }) });
    started();
  });
  const processor = vulndbSyncProcessor({ sync }, leases, logger);
  const job = () => processor({ data: { scanner: SCANNER } } as Job);
  const tryJob = () => new Promise<'skipped' | 'syncing'>((resolve, reject) => {
    started = () => resolve('syncing');
    job().then((r) => { if ((r as { skipped?: boolean }).skipped) resolve('skipped'); }, reject);
  });
  return { redis, keeper, leases, syncs, job, tryJob };
}

const pastTtl = (times: number) => {
  const end = Date.now() + times * TTL_MS;
  return until(`${times} lease TTLs`, () => (Date.now() > end ? true : undefined));
};

describe('vulndb sync: one worker at a time, on a renewed short lease', () => {
  let prefix: string;
  const workers: TestWorker[] = [];

  beforeEach(() => { prefix = uniqueName('sync-lease'); });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.syncs.forEach((s) => s.end());
      await w.keeper.close();
      w.redis.disconnect();
    }
  });

  const start = async (n: number): Promise<TestWorker[]> => {
    const ws = Array.from({ length: n }, () => worker(prefix));
    workers.push(...ws);
    await Promise.all(ws.map((w) => w.keeper.ready()));
    return ws;
  };

  it('lets one of many concurrent workers sync; the others are skipped', async () => {
    const ws = await start(6);
    const jobs = ws.map((w) => w.job());
    await until('one sync started', () => (ws.some((w) => w.syncs.length > 0) ? true : undefined));
    // The others answered without syncing.
    const runner = ws.find((w) => w.syncs.length > 0)!;
    const others = jobs.filter((_, i) => ws[i] !== runner);
    expect(await Promise.all(others)).toEqual(Array(5).fill({ skipped: true }));
    expect(ws.reduce((n, w) => n + w.syncs.length, 0)).toBe(1);
    runner.syncs[0]!.end();
    expect(await jobs[ws.indexOf(runner)]).toEqual({ after: 'v2', changed: true });
    // Released at once: the next job syncs.
    const next = ws[0]!.job();
    await until('the next sync', () => (ws[0]!.syncs.length === (runner === ws[0] ? 2 : 1) ? true : undefined));
    ws[0]!.syncs.at(-1)!.end();
    expect(await next).toEqual({ after: 'v2', changed: true });
  });

  it('a sync longer than several TTLs keeps its lease: the other worker is skipped until it ends', async () => {
    const [a, b] = await start(2) as [TestWorker, TestWorker];
    const first = a.job();
    await until('a syncing', () => (a.syncs.length === 1 ? true : undefined));
    await pastTtl(3);
    expect(await b.job()).toEqual({ skipped: true });
    expect(await a.leases.remainingMs(SYNC_LEASE_SCOPE, SCANNER)).not.toBeNull();
    await pastTtl(1);
    expect(await b.job()).toEqual({ skipped: true });
    expect(b.syncs).toHaveLength(0);
    a.syncs[0]!.end();
    await first;
    expect(await a.leases.remainingMs(SYNC_LEASE_SCOPE, SCANNER)).toBeNull();
  });

  it('a worker killed mid-sync blocks syncs for one lease, not 6 hours: the other worker then syncs', async () => {
    const [a, b] = await start(2) as [TestWorker, TestWorker];
    expect(await a.tryJob()).toBe('syncing');
    expect(await b.tryJob()).toBe('skipped');
    // Killed: its keeper thread is gone, its sync never ends and never releases.
    await a.keeper.close();
    await until('b syncing after the lease lapsed', async () => ((await b.tryJob()) === 'syncing' ? true : undefined), 20_000);
    expect(b.syncs).toHaveLength(1);
    expect(await b.leases.remainingMs(SYNC_LEASE_SCOPE, SCANNER)).not.toBeNull();
  });

  it('keeps one scheduler entry per scanner however many workers upsert it', async () => {
    const redis = new Redis(services().redis.url);
    const queues = [new MonitorQueue(redis, prefix), new MonitorQueue(redis, prefix), new MonitorQueue(redis, prefix)];
    try {
      await Promise.all(queues.map((q) => q.scheduleSyncs([{ scanner: SCANNER, everyMs: 6 * 3600_000 }])));
      const schedulers = await queues[0]!.queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key)).toEqual([syncSchedulerId(SCANNER)]);
      expect(schedulers[0]).toMatchObject({ every: 6 * 3600_000, name: 'vulndb-sync' });
    } finally {
      await queues[0]!.queue.obliterate({ force: true });
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
    }
  });
});
