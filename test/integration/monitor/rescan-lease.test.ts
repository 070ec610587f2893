/**
 * The rescan job's lease (queue/rescan.ts) on the real Redis, with two workers, each with its
 * own connection and lease keeper thread as main.ts builds them: a run that lasts many times
 * the lease's TTL keeps it (renewed), so the other worker's ticks are skipped; a worker killed
 * mid-run (its keeper gone, its run never ending) leaves the lease to lapse one TTL later, and
 * the other worker runs. (With the old one-hour lock, the second worker was blocked for an hour.)
 * The lease is what is tested: each worker's rescan service is a run the test holds open.
 */
import Redis from 'ioredis';
import type { Job } from 'bullmq';
import { createLogger } from '../../../src/lib/logger';
import { LeaseKeeper, RedisStepLeases } from '../../../src/store';
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

const TTL_MS = 1500;
const logger = createLogger({ level: 'silent' });
const settings = (url: string) => ({ url, prefix: 'unused', sentinels: [], commandTimeoutMs: 5000, replicasToAck: 0, replicaAckTimeoutMs: 0 });

interface TestWorker {
  redis: Redis;
  keeper: LeaseKeeper;
  leases: RedisStepLeases;
  /** Runs the rescan job once, as the monitor queue's worker would. */
  tick(): Promise<unknown>;
  /** Runs started, and how each ends: the test ends them. */
  runs: Array<{ options: RunOptions; end: () => void }>;
  /** Ticks once: 'skipped' when the lease is held elsewhere, 'running' once the run started (it goes on). */
  tryRun(): Promise<'skipped' | 'running'>;
}

function worker(prefix: string): TestWorker {
  const redis = new Redis(services().redis.url);
  const keeper = new LeaseKeeper({ settings: settings(services().redis.url), renewEveryMs: 100, maxStallMs: 60_000 });
  const leases = new RedisStepLeases(redis, prefix, { ttlMs: TTL_MS, keeper });
  const runs: TestWorker['runs'] = [];
  let started: () => void = () => undefined;
  const service: Pick<RescanService, 'run'> = {
    run: (options: RunOptions = {}) => new Promise((resolve) => { runs.push({ options, end: () => resolve([]) }); started(); }),
  };
  const processor = rescanProcessor(service, leases, logger);
  const tick = () => processor({} as Job);
  const tryRun = () => new Promise<'skipped' | 'running'>((resolve, reject) => {
    started = () => resolve('running');
    tick().then((r) => { if ((r as { skipped?: boolean }).skipped) resolve('skipped'); }, reject);
  });
  return { redis, keeper, leases, runs, tick, tryRun };
}

const pastTtl = (times: number) => {
  const end = Date.now() + times * TTL_MS;
  return until(`${times} lease TTLs`, () => (Date.now() > end ? true : undefined));
};

describe('rescan runs: one at a time across workers, on a renewed short lease', () => {
  let prefix: string;
  const workers: TestWorker[] = [];

  beforeEach(() => { prefix = uniqueName('rescan-lease'); });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.runs.forEach((r) => r.end());
      await w.keeper.close();
      w.redis.disconnect();
    }
  });

  const two = async (): Promise<[TestWorker, TestWorker]> => {
    const ws: [TestWorker, TestWorker] = [worker(prefix), worker(prefix)];
    workers.push(...ws);
    await Promise.all(ws.map((w) => w.keeper.ready()));
    return ws;
  };

  it('a run longer than several TTLs keeps its lease: the other worker\'s ticks are skipped until it ends', async () => {
    const [a, b] = await two();
    const first = a.tick();
    await until('a running', () => (a.runs.length === 1 ? true : undefined));
    expect(a.runs[0]!.options.held?.()).toBe(true);
    await pastTtl(3);
    expect(await b.tick()).toEqual({ skipped: true });
    expect(a.runs[0]!.options.held?.()).toBe(true);
    expect(await a.leases.remainingMs(RESCAN_LEASE.step, RESCAN_LEASE.id)).not.toBeNull();
    await pastTtl(1);
    expect(await b.tick()).toEqual({ skipped: true });
    expect(b.runs).toHaveLength(0);

    // Ended: released at once, and the other worker's next tick runs.
    a.runs[0]!.end();
    expect(await first).toEqual({ scanners: [] });
    expect(await a.leases.remainingMs(RESCAN_LEASE.step, RESCAN_LEASE.id)).toBeNull();
    const second = b.tick();
    await until('b running', () => (b.runs.length === 1 ? true : undefined));
    b.runs[0]!.end();
    expect(await second).toEqual({ scanners: [] });
  });

  it('a worker killed mid-run blocks rescans for one lease, not an hour: the other worker then runs', async () => {
    const [a, b] = await two();
    expect(await a.tryRun()).toBe('running');
    expect(await b.tryRun()).toBe('skipped');
    // Killed: its keeper thread is gone, its run never ends and never releases.
    await a.keeper.close();
    await until('b running after the lease lapsed', async () => ((await b.tryRun()) === 'running' ? true : undefined), 20_000);
    expect(b.runs).toHaveLength(1);
    expect(b.runs[0]!.options.held?.()).toBe(true);
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
