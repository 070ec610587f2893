/**
 * One sync at a time across workers, on the real Redis, with the lease the job holds
 * (queue/vulndb-sync.ts): each worker has its own connection and lease keeper thread, as main.ts
 * builds them. Of many workers that try to sync the same scanner at once, one runs and the others
 * are skipped; a sync that lasts many times the lease's TTL keeps it (renewed), so the other
 * worker's jobs are skipped until it ends; a worker killed mid-sync (its keeper gone, its sync
 * never ending) leaves the lease to lapse one TTL later and the other worker syncs (with the old
 * 6-hour lock it was blocked for up to 6 hours); a worker whose lease lapsed while it lives on
 * stops at its swap. The sync itself is one the test holds open.
 * The schedule is one BullMQ job scheduler entry per scanner, whatever the number of workers.
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import type { VulndbSyncOutcome } from '../../../src/monitor/vulndb-sync';
import { MonitorQueue, SYNC_LEASE_SCOPE, syncSchedulerId, vulndbSyncProcessor } from '../../../queue/vulndb-sync';
import { services } from '../../harness/services';
import { until } from './fixtures';
import { leaseWorkers, pastTtl, type LeaseWorker } from './lease-workers';

const SCANNER = 'builtin';
const logger = createLogger({ level: 'silent' });
const outcome = (name: string): VulndbSyncOutcome => ({ scanner: name, before: 'v1', after: 'v2', sync: { dbVersion: 'v2', records: 0, files: 0 } as unknown as VulndbSyncOutcome['sync'] });

describe('vulndb sync: one worker at a time, on a renewed short lease', () => {
  // Each worker's sync is held open by the test (its info: the scanner's name).
  // Swaps made, in order: a held sync confirms its lease before it swaps, as the real one does.
  let swaps: string[] = [];
  beforeEach(() => { swaps = []; });
  const workers = leaseWorkers<string>('sync-lease', (leases, hold) => vulndbSyncProcessor({
    sync: async (name, lease) => {
      const done = await hold(name, outcome(name));
      await lease?.check('the swap');
      swaps.push(name);
      return done;
    },
  }, leases, logger), { data: { scanner: SCANNER } });
  const start = workers.start;
  type TestWorker = LeaseWorker<string>;

  it('lets one of many concurrent workers sync; the others are skipped', async () => {
    const ws = await start(6);
    const jobs = ws.map((w) => w.job());
    await until('one sync started', () => (ws.some((w) => w.runs.length > 0) ? true : undefined));
    // The others answered without syncing.
    const runner = ws.find((w) => w.runs.length > 0)!;
    const others = jobs.filter((_, i) => ws[i] !== runner);
    expect(await Promise.all(others)).toEqual(Array(5).fill({ skipped: true }));
    expect(ws.reduce((n, w) => n + w.runs.length, 0)).toBe(1);
    runner.runs[0]!.end();
    expect(await jobs[ws.indexOf(runner)]).toEqual({ after: 'v2', changed: true });
    // Released at once: the next job syncs.
    const next = ws[0]!.job();
    await until('the next sync', () => (ws[0]!.runs.length === (runner === ws[0] ? 2 : 1) ? true : undefined));
    ws[0]!.runs.at(-1)!.end();
    expect(await next).toEqual({ after: 'v2', changed: true });
  });

  it('a sync longer than several TTLs keeps its lease: the other worker is skipped until it ends', async () => {
    const [a, b] = await start(2) as [TestWorker, TestWorker];
    const first = a.job();
    await until('a syncing', () => (a.runs.length === 1 ? true : undefined));
    await pastTtl(3);
    expect(await b.job()).toEqual({ skipped: true });
    expect(await a.leases.remainingMs(SYNC_LEASE_SCOPE, SCANNER)).not.toBeNull();
    await pastTtl(1);
    expect(await b.job()).toEqual({ skipped: true });
    expect(b.runs).toHaveLength(0);
    a.runs[0]!.end();
    await first;
    expect(await a.leases.remainingMs(SYNC_LEASE_SCOPE, SCANNER)).toBeNull();
  });

  it('a worker killed mid-sync blocks syncs for one lease, not 6 hours: the other worker then syncs', async () => {
    const [a, b] = await start(2) as [TestWorker, TestWorker];
    expect(await a.tryJob()).toBe('started');
    expect(await b.tryJob()).toBe('skipped');
    // Killed: its keeper thread is gone, its sync never ends and never releases.
    await a.keeper.close();
    await until('b syncing after the lease lapsed', async () => ((await b.tryJob()) === 'started' ? true : undefined), 20_000);
    expect(b.runs).toHaveLength(1);
    expect(await b.leases.remainingMs(SYNC_LEASE_SCOPE, SCANNER)).not.toBeNull();
  });

  it('a worker that lost its lease mid-sync but lives on stops before its swap; the worker that took over swaps', async () => {
    const [a, b] = await start(2) as [TestWorker, TestWorker];
    const cutOff = a.job();
    cutOff.catch(() => undefined);
    await until('a syncing', () => (a.runs.length === 1 ? true : undefined));
    // a's renewals stop (a stalled or cut-off worker): the lease lapses and b takes the sync over.
    await a.keeper.close();
    await until('b syncing after the lease lapsed', async () => ((await b.tryJob()) === 'started' ? true : undefined), 20_000);
    // a comes back to its swap: refused, nothing swapped beside b's run.
    a.runs[0]!.end();
    await expect(cutOff).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect(swaps).toEqual([]);
    b.runs[0]!.end();
    await until('b swapped', () => (swaps.length === 1 ? true : undefined));
    expect(swaps).toEqual([SCANNER]);
  });

  it('keeps one scheduler entry per scanner however many workers upsert it', async () => {
    const redis = new Redis(services().redis.url);
    const prefix = workers.prefix();
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
