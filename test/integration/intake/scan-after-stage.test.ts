/**
 * worker.scanAfterStage: the stage job goes on into the scan in the same process (where the
 * staged layers are still in memory) under the scan's own lease on the real Redis, instead of
 * queuing a scan job that any worker may take. A scan that cannot run there (its lease held by
 * another run) or fails is queued as its own job; a stage job run again after a crash during
 * that scan finds the request scanning and queues the scan job.
 */
import Redis from 'ioredis';
import { EventBus, Lifecycle, Pipeline, ScanRunner, type PipelineStep } from '../../../src/intake';
import { AppError } from '../../../src/lib/errors';
import { createLogger } from '../../../src/lib/logger';
import type { ScannerAdapter, ScanTarget } from '../../../src/scanners/types';
import { RedisStepLeases } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { awaiting, MemoryApprovalStore, MemoryIntakeRegistry, MemoryRequestStore, MemoryScanResults, report } from '../../unit/intake/fakes';

const logger = createLogger({ level: 'silent' });
const digest = `sha256:${'a'.repeat(64)}`;

/** A scanner that counts its scans and fails the first `failures` of them. */
class CountingScanner implements ScannerAdapter {
  readonly name = 'counting';
  readonly type = 'builtin' as const;
  scans = 0;
  constructor(private failures = 0) {}
  async check(): Promise<void> {}
  async dbVersion(): Promise<string> { return 'v1'; }
  async scan(_target: ScanTarget) {
    this.scans += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new AppError('SCANNER_UNAVAILABLE', 'the scanner is restarting', { temporary: true });
    }
    return report([], { scanner: this.name });
  }
}

describe('the scan that follows a stage in the same job', () => {
  let redis: Redis;
  const prefix = uniqueName('scan-after-stage');

  beforeAll(() => {
    redis = new Redis(services().redis.url);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  function setup(options: { scanAfterStage: boolean; failures?: number }) {
    const requests = new MemoryRequestStore();
    const scanner = new CountingScanner(options.failures);
    const scheduled: Array<[PipelineStep, string]> = [];
    const leases = new RedisStepLeases(redis, `${prefix}:${uniqueName('run')}`, { ttlMs: 5000 });
    const pipeline = new Pipeline({
      requests, approvals: new MemoryApprovalStore(), registry: new MemoryIntakeRegistry(), logger, leases,
      lifecycle: new Lifecycle(requests, new EventBus()), policy: () => ({ verdict: 'pass', reasons: [] }),
      scans: new ScanRunner([scanner], new MemoryScanResults(), logger),
      scheduler: { schedule: async (step, id) => { scheduled.push([step, id]); } },
      settings: {
        quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1,
        onPolicyFail: 'flag', scanAfterStage: options.scanAfterStage,
      },
    });
    void requests.create(awaiting({ status: 'staging', scans: [], source: { registry: 'docker.io', repository: 'library/nginx', tag: '1', digest } }));
    return { requests, scanner, scheduled, leases, pipeline };
  }

  it('scans in the stage job, timed as a step of its own, and queues no scan job', async () => {
    const { requests, scanner, scheduled, pipeline } = setup({ scanAfterStage: true });
    const steps: string[] = [];
    await pipeline.run('stage', 'r1', (step, _seconds, outcome) => steps.push(`${step} ${outcome}`));
    expect((await requests.get('r1'))?.status).toBe('awaiting_approval');
    expect(scanner.scans).toBe(1);
    expect(scheduled).toEqual([]);
    expect(steps).toEqual(['stage ok', 'scan ok']);
  });

  it('without the setting, queues the scan job as before', async () => {
    const { requests, scanner, scheduled, pipeline } = setup({ scanAfterStage: false });
    await pipeline.run('stage', 'r1');
    expect((await requests.get('r1'))?.status).toBe('scanning');
    expect(scanner.scans).toBe(0);
    expect(scheduled).toEqual([['scan', 'r1']]);
  });

  it('queues the scan job when the scan fails in the stage job; the job then completes it', async () => {
    const { requests, scanner, scheduled, pipeline } = setup({ scanAfterStage: true, failures: 1 });
    await pipeline.run('stage', 'r1');
    expect((await requests.get('r1'))?.status).toBe('scanning');
    expect(scheduled).toEqual([['scan', 'r1']]);
    await pipeline.run('scan', 'r1');
    expect((await requests.get('r1'))?.status).toBe('awaiting_approval');
    expect(scanner.scans).toBe(2);
  });

  it('leaves the scan to the run that holds its lease, and queues the scan job to follow it up', async () => {
    const { requests, scanner, scheduled, leases, pipeline } = setup({ scanAfterStage: true });
    const other = await leases.acquire('scan', 'r1');
    expect(other).not.toBeNull();
    await pipeline.run('stage', 'r1');
    expect((await requests.get('r1'))?.status).toBe('scanning');
    expect(scanner.scans).toBe(0);
    expect(scheduled).toEqual([['scan', 'r1']]);
    await other?.release();
  });

  it('a stage job run again after a crash in its scan queues the scan job', async () => {
    const { requests, scanner, scheduled, pipeline } = setup({ scanAfterStage: true });
    // The state a worker killed inside the scan of its stage job leaves: staged, scanning, no scan job.
    await requests.update('r1', (r) => ({ ...r, status: 'scanning', stagedDigest: digest }));
    await pipeline.run('stage', 'r1');
    expect(scheduled).toEqual([['scan', 'r1']]);
    expect(scanner.scans).toBe(0);
  });
});
