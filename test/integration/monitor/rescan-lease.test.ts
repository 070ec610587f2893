/**
 * The rescan job's lease (queue/rescan.ts) on the real Redis, with two workers, each with its
 * own connection and lease keeper thread as main.ts builds them: a run that lasts many times
 * the lease's TTL keeps it (renewed), so the other worker's ticks are skipped; a worker killed
 * mid-run (its keeper gone, its run never ending) leaves the lease to lapse one TTL later, and
 * the other worker runs. (With the old one-hour lock, the second worker was blocked for an hour.)
 * The lease is what is tested: each worker's rescan service is a run the test holds open.
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import { ApprovedDigests } from '../../../src/monitor/approved-digests';
import { FindingsOutbox } from '../../../src/monitor/findings-outbox';
import { RescanService, type RunOptions } from '../../../src/monitor/rescan';
import type { RegistryClient } from '../../../src/registry/types';
import type { ScanReport } from '../../../src/scanners/types';
import { RedisApprovalStore, RedisRequestStore } from '../../../src/store';
import type { IntakeRequest } from '../../../src/store/types';
import { RESCAN_LEASE, rescanProcessor } from '../../../queue/rescan';
import { services, uniqueName } from '../../harness/services';
import { until } from './fixtures';
import { leaseWorkers, pastTtl, type LeaseWorker } from './lease-workers';

const logger = createLogger({ level: 'silent' });

describe('rescan runs: one at a time across workers, on a renewed short lease', () => {
  // Each worker's rescan run is held open by the test (its info: the run's options).
  const workers = leaseWorkers<RunOptions>('rescan-lease', (leases, hold) => rescanProcessor({ run: (options: RunOptions = {}) => hold(options, []) }, leases, logger));
  type TestWorker = LeaseWorker<RunOptions>;
  const two = async () => (await workers.start(2)) as [TestWorker, TestWorker];

  it('a run longer than several TTLs keeps its lease: the other worker\'s ticks are skipped until it ends', async () => {
    const [a, b] = await two();
    const first = a.job();
    await until('a running', () => (a.runs.length === 1 ? true : undefined));
    expect(a.runs[0]!.info.held?.()).toBe(true);
    await pastTtl(3);
    expect(await b.job()).toEqual({ skipped: true });
    expect(a.runs[0]!.info.held?.()).toBe(true);
    expect(await a.leases.remainingMs(RESCAN_LEASE.step, RESCAN_LEASE.id)).not.toBeNull();
    await pastTtl(1);
    expect(await b.job()).toEqual({ skipped: true });
    expect(b.runs).toHaveLength(0);

    // Ended: released at once, and the other worker's next tick runs.
    a.runs[0]!.end();
    expect(await first).toEqual({ scanners: [] });
    expect(await a.leases.remainingMs(RESCAN_LEASE.step, RESCAN_LEASE.id)).toBeNull();
    const second = b.job();
    await until('b running', () => (b.runs.length === 1 ? true : undefined));
    b.runs[0]!.end();
    expect(await second).toEqual({ scanners: [] });
  });

  it('a worker killed mid-run blocks rescans for one lease, not an hour: the other worker then runs', async () => {
    const [a, b] = await two();
    expect(await a.tryJob()).toBe('started');
    expect(await b.tryJob()).toBe('skipped');
    // Killed: its keeper thread is gone, its run never ends and never releases.
    await a.keeper.close();
    await until('b running after the lease lapsed', async () => ((await b.tryJob()) === 'started' ? true : undefined), 20_000);
    expect(b.runs).toHaveLength(1);
    expect(b.runs[0]!.info.held?.()).toBe(true);
  });
});

describe('a rescan run whose lease is lost', () => {
  it('stops at its next digest and leaves the window to the run that took over', async () => {
    const redis = new Redis(services().redis.url);
    const prefix = uniqueName('rescan-lost');
    try {
      const at = new Date().toISOString();
      const digest = (i: number) => `sha256:${String(i).padStart(64, '0')}`;
      const request: IntakeRequest = {
        id: uniqueName('req'), image: 'upstream.test/app:1', team: 'payments', requestedBy: 'dev', justification: 'x', status: 'approved', createdAt: at, updatedAt: at,
        source: { registry: 'upstream.test', repository: 'app', tag: '1', digest: digest(0) }, platforms: [],
        scans: [{ scanner: 'harbor', status: 'succeeded', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, findings: [], startedAt: at, finishedAt: at }], codeScans: [],
        policy: { verdict: 'pass', reasons: [], blocking: [] }, waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
      };
      const requests = new RedisRequestStore(redis, prefix);
      const approvals = new RedisApprovalStore(redis, prefix);
      await requests.create(request);
      for (let i = 1; i <= 4; i++) {
        await approvals.put({ team: 'payments', digest: digest(i), image: 'upstream.test/app', tags: [], platforms: [], internalRef: 'x', internalRepository: 'approved/payments/app', internalTag: '1', approvedAt: at, approvedBy: ['a'], requestId: request.id });
      }
      let held = true;
      const scanned: string[] = [];
      const period = 3600_000;
      const now = Date.now();
      const service = new RescanService({
        periodic: [{
          name: 'harbor', type: 'harbor', dbVersion: async () => 'v1',
          scan: async (t): Promise<ScanReport> => {
            scanned.push(t.digest);
            // The lease lapses while this scan runs (the process stalled past the TTL).
            held = false;
            return { scanner: 'harbor', status: 'succeeded', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, findings: [], startedAt: at, finishedAt: at };
          },
        }],
        missingInventory: [], hasInventory: async () => false, approved: new ApprovedDigests(redis, prefix),
        targets: { approvals, requests, internal: {} as RegistryClient, internalUrl: 'http://127.0.0.1:9' },
        events: { publish: async () => undefined }, outbox: new FindingsOutbox(redis, prefix),
        redis, prefix, periodMs: period, now: () => new Date(now), logger,
      });
      // Every digest due: the previous run was one period ago.
      const last = String(now - period);
      await redis.set(`${prefix}:rescan:last:harbor`, last);
      const [run] = await service.run({ held: () => held });
      expect(scanned).toHaveLength(1);
      expect(run).toMatchObject({ scanner: 'harbor', rescanned: scanned, leaseLost: true, deferred: 3 });
      // The window is not moved by the run that lost its lease.
      expect(await redis.get(`${prefix}:rescan:last:harbor`)).toBe(last);
    } finally {
      redis.disconnect();
    }
  });
});
