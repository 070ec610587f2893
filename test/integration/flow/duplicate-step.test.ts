/**
 * A step run twice at once (redis, both registries, nginx, the real builtin scanner, a real
 * BullMQ worker). BullMQ hands a job out again when its lock lapses, and a worker too busy to
 * renew the lock (a 20,000-entry index parsed on a loaded machine) is still running the step:
 * two stages then write the same manifests into one quarantine repository, which
 * docker-registry's storage does not survive (a link file rewritten in place is read empty:
 * DIGEST_INVALID), and two scans scan twice. One run at a time holds the step's lease; the
 * other waits (StepInProgress) and finds the request moved on.
 *
 * Both cases are provoked deterministically: two runs of stage started together, and a scan
 * held inside the scanner while its BullMQ lock is deleted, which is what a lapse looks like.
 */
import { startTestApp } from '../../harness/app';
import { pushImage, type BuiltImage } from '../../harness/images';
import { until } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { StepInProgress } from '../../../src/intake';
import type { ScanReport, ScanTarget } from '../../../src/scanners/types';
import { ADVISORY, buildVulnerableImage, CountingScanner, privateOsvDb } from './scan-fixtures';

const svc = services();
/** The harness's worker settings (test/harness/app.ts), which a `worker` key of a test's config replaces. */
const WORKER = { lockDurationMs: 5000, stalledIntervalMs: 1000, stepLeaseMs: 3000 };

/** Holds its first scan until released; `started` counts the scans begun, held or not. */
class HeldScanner extends CountingScanner {
  started = 0;
  private onEntered!: () => void;
  readonly entered = new Promise<void>((resolve) => { this.onEntered = resolve; });
  private onRelease!: () => void;
  private readonly released = new Promise<void>((resolve) => { this.onRelease = resolve; });

  release(): void { this.onRelease(); }

  override async scan(target: ScanTarget): Promise<ScanReport> {
    this.started += 1;
    if (this.started === 1) {
      this.onEntered();
      await this.released;
    }
    return super.scan(target);
  }
}

describe('a step run twice at once', () => {
  let vulnerable: BuiltImage;
  beforeAll(async () => { vulnerable = await buildVulnerableImage(); });

  it('two runs of stage together: one stages, the other is told another run holds the step', async () => {
    // The scan queued as a job of its own (as when it cannot run in the stage job), so the winner leaves the request scanning.
    const app = await startTestApp({ worker: false, config: { worker: { ...WORKER, scanAfterStage: false } } });
    try {
      const repo = uniqueName('twice-staged');
      await pushImage(svc.upstream.url, repo, '1.0', vulnerable);
      const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'duplicate stage' });
      expect(created.status).toBe(202);
      const { pipeline } = app.services;
      await pipeline.run('resolve', created.body.id);
      const runs = await Promise.allSettled([pipeline.run('stage', created.body.id), pipeline.run('stage', created.body.id)]);
      expect(runs.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = runs.find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason as Error;
      expect(refused).toBeInstanceOf(StepInProgress);
      expect(refused.message).toContain(`stage of request ${created.body.id}`);
      const r = (await app.call('auditor', 'GET', `/v1/requests/${created.body.id}`)).body;
      expect(r.status).toBe('scanning');
      expect(r.stagedDigest).toBe(vulnerable.digest);
      // The lease is gone with the run: the refused run, retried now, finds the request staged.
      await pipeline.run('stage', created.body.id);
      expect(await app.redis.keys(`${app.config.redis.prefix}:step-lease:*`)).toEqual([]);
    } finally {
      await app.stop();
    }
  });

  /** A vulnerable image requested under a rejecting policy, its scan held inside the scanner (scanAfterStage: run in the stage job). */
  async function heldScan(name: string, scanAfterStage: boolean) {
    const scanner = new HeldScanner('e2e', privateOsvDb());
    await scanner.check();
    const app = await startTestApp({ scanners: [scanner], config: { policy: { onFail: 'reject' }, worker: { ...WORKER, scanAfterStage } } });
    try {
      const repo = uniqueName(name);
      await pushImage(svc.upstream.url, repo, '1.0', vulnerable);
      const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'duplicate scan' });
      expect(created.status).toBe(202);
      await scanner.entered;
      return { scanner, app, id: created.body.id as string };
    } catch (err) {
      scanner.release();
      await app.stop();
      throw err;
    }
  }

  it('a scan whose BullMQ lock lapsed is not run again beside itself: one scan, its finding, POLICY_FAILED', async () => {
    const { scanner, app, id } = await heldScan('twice-scanned', false);
    try {
      // The lock lapses (as under a stalled event loop): the worker's stalled-job check hands the
      // job out again, and the free slot of the same worker (concurrency 2) takes it.
      const { scheduler } = app.services;
      const jobId = `scan-${id}`;
      expect(await app.redis.del(`${app.config.redis.prefix}:bull:intake:${jobId}:lock`)).toBe(1);
      // Handed out again: it either scans beside the held run (the bug) or waits for it.
      await until('the scan job handed out again', async () => {
        const job = await scheduler.queue.getJob(jobId);
        return scanner.started >= 2 || (job && (await job.getState()) === 'delayed' && job.stalledCounter >= 1) ? true : undefined;
      }, 120_000);
      scanner.release();
      const r = await app.waitForStatus(id, ['failed', 'awaiting_approval']);
      expect(r.status).toBe('failed');
      expect(r.error.code).toBe('POLICY_FAILED');
      expect(scanner.started).toBe(1);
      expect(scanner.scans).toBe(1);
      expect(r.scans[0].findings).toContainEqual(expect.objectContaining({ id: ADVISORY }));
      expect(r.history.filter((h: { status: string }) => h.status === 'failed')).toHaveLength(1);
    } finally {
      scanner.release();
      await app.stop();
    }
  });

  it('a stage job whose lock lapsed during the scan it went on into: the scan is not run again beside itself', async () => {
    const { scanner, app, id } = await heldScan('twice-scanned-inline', true);
    try {
      // The scan runs inside the stage job: that job's lock lapses and the stage job is handed out again.
      const { scheduler } = app.services;
      expect(await app.redis.del(`${app.config.redis.prefix}:bull:intake:stage-${id}:lock`)).toBe(1);
      // The stage run again finds the request scanning and queues the scan job, which waits for the held scan.
      await until('the scan job queued and turned away', async () => {
        const job = await scheduler.queue.getJob(`scan-${id}`);
        return scanner.started >= 2 || (job && (await job.getState()) === 'delayed') ? true : undefined;
      }, 120_000);
      scanner.release();
      const r = await app.waitForStatus(id, ['failed', 'awaiting_approval']);
      expect(r.status).toBe('failed');
      expect(r.error.code).toBe('POLICY_FAILED');
      expect(scanner.started).toBe(1);
      expect(r.history.filter((h: { status: string }) => h.status === 'failed')).toHaveLength(1);
    } finally {
      scanner.release();
      await app.stop();
    }
  });
});
