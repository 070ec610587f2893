/**
 * Workers that run a monitor job under its lease, for the lease tests (the rescan run, the
 * vulnerability-data sync) on the real Redis: each worker has its own connection and lease keeper
 * thread, as main.ts builds them, and runs the job's real processor over work the test holds open
 * (the lease is what is tested, not the work).
 */
import Redis from 'ioredis';
import type { Job } from 'bullmq';
import { LeaseKeeper, RedisStepLeases } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { until } from './fixtures';

/** The leases' TTL: short, so that a killed worker's lease lapses within a test. */
export const TTL_MS = 1500;
const settings = (url: string) => ({ url, prefix: 'unused', sentinels: [], commandTimeoutMs: 5000, replicasToAck: 0, replicaAckTimeoutMs: 0 });

/** Work the processor started; `info` is what it was started with. */
export interface HeldWork<I> { info: I; end: () => void }

export interface LeaseWorker<I> {
  redis: Redis;
  keeper: LeaseKeeper;
  leases: RedisStepLeases;
  /** Work started on this worker, in order; the test ends each. */
  runs: Array<HeldWork<I>>;
  /** Runs the job once, as the monitor queue's worker would: the job's result. */
  job(): Promise<unknown>;
  /** Runs the job once: 'skipped' when another worker holds the lease, 'started' once its work started (it goes on). */
  tryJob(): Promise<'skipped' | 'started'>;
}

/** Holds work open: resolves with `result` when the test ends it. */
export type Hold<I> = <T>(info: I, result: T) => Promise<T>;

/** Builds the job's processor over `leases`, its work held by `hold`. */
export type ProcessorOf<I> = (leases: RedisStepLeases, hold: Hold<I>) => (job: Job) => Promise<unknown>;

function leaseWorker<I>(prefix: string, processorOf: ProcessorOf<I>, job: Partial<Job>): LeaseWorker<I> {
  const redis = new Redis(services().redis.url);
  const keeper = new LeaseKeeper({ settings: settings(services().redis.url), renewEveryMs: 100, maxStallMs: 60_000 });
  const leases = new RedisStepLeases(redis, prefix, { ttlMs: TTL_MS, keeper });
  const runs: Array<HeldWork<I>> = [];
  let started: () => void = () => undefined;
  const hold: Hold<I> = (info, result) => new Promise((resolve) => { runs.push({ info, end: () => resolve(result) }); started(); });
  const processor = processorOf(leases, hold);
  const run = () => processor(job as Job);
  const tryJob = () => new Promise<'skipped' | 'started'>((resolve, reject) => {
    started = () => resolve('started');
    run().then((r) => { if ((r as { skipped?: boolean }).skipped) resolve('skipped'); }, reject);
  });
  return { redis, keeper, leases, runs, job: run, tryJob };
}

/**
 * Registers, in the calling `describe`, a fresh key prefix per test and the clean-up of the
 * workers it started (their work ended, their keepers and connections closed); `start(n)` starts
 * n workers with their keepers ready.
 */
export function leaseWorkers<I>(name: string, processorOf: ProcessorOf<I>, job: Partial<Job> = {}): { start(n: number): Promise<Array<LeaseWorker<I>>>; prefix(): string } {
  let prefix = '';
  const workers: Array<LeaseWorker<I>> = [];
  beforeEach(() => { prefix = uniqueName(name); });
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.runs.forEach((r) => r.end());
      await w.keeper.close();
      w.redis.disconnect();
    }
  });
  return {
    prefix: () => prefix,
    start: async (n) => {
      const ws = Array.from({ length: n }, () => leaseWorker(prefix, processorOf, job));
      workers.push(...ws);
      await Promise.all(ws.map((w) => w.keeper.ready()));
      return ws;
    },
  };
}

/** Waits until `times` lease TTLs have passed. */
export function pastTtl(times: number): Promise<true> {
  const end = Date.now() + times * TTL_MS;
  return until(`${times} lease TTLs`, () => (Date.now() > end ? true : undefined));
}
