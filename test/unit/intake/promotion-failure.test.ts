/**
 * A promotion that fails after it tagged the image leaves nothing served that the ledger does
 * not know: the failure path takes the tag back, and when the registry refuses that too, the
 * pending approval (written before tagging) stays so that an admin's revocation removes it, and
 * a run of the job that finds its request failed takes them back.
 */
import { ApprovedService, EventBus, Lifecycle, Pipeline, RevocationService, ScanRunner, unpublishUnlessServed, type PipelineStep } from '../../../src/intake';
import { AppError } from '../../../src/lib/errors';
import { createLogger } from '../../../src/lib/logger';
import { awaiting, MemoryApprovalStore, MemoryIntakeRegistry, MemoryRequestStore, MemoryRevocationStore, MemoryScanResults } from './fakes';

const logger = createLogger({ level: 'silent' });
const digest = `sha256:${'a'.repeat(64)}`;
const quarantine = 'quarantine/docker.io/library/nginx';
const approvedRepo = 'approved/payments/docker.io/library/nginx';

function setup() {
  const requests = new MemoryRequestStore();
  const approvals = new MemoryApprovalStore();
  const registry = new MemoryIntakeRegistry();
  const events = new EventBus();
  const lifecycle = new Lifecycle(requests, events);
  const scheduled: Array<[PipelineStep, string]> = [];
  const pipeline = new Pipeline({
    requests, approvals, registry, lifecycle, logger, policy: () => ({ verdict: 'pass', reasons: [] }),
    scans: new ScanRunner([], new MemoryScanResults(), logger),
    scheduler: { schedule: async (step, id) => { scheduled.push([step, id]); } },
    settings: { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' },
  });
  const approved = new ApprovedService({ approvals });
  const revocations = new RevocationService({
    approvals, requests, lifecycle, events, revocations: new MemoryRevocationStore(approvals),
    cleanup: { unpublish: async (task) => { await unpublishUnlessServed({ approvals, registry }, task); } },
  });
  registry.manifests.set(`${quarantine}@${digest}`, digest);
  void requests.create(awaiting({ status: 'promoting', decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2025-01-01T00:00:00.000Z' }] }));
  return { requests, approvals, registry, pipeline, approved, revocations };
}

const admin = { name: 'root', roles: ['admin' as const], teams: ['*'] };
const ci = { name: 'ci', roles: ['ci' as const], teams: ['payments'] };

describe('a promotion that fails after tagging', () => {
  it('takes the tag back when the request fails; no approval remains', async () => {
    const { requests, approvals, registry, pipeline, approved } = setup();
    registry.faults.internalDigest = new AppError('MANIFEST_INVALID', 'the registry answered nonsense');
    const err = await pipeline.promote('r1').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MANIFEST_INVALID' });
    // The tag was written before the step that failed.
    expect(registry.served(approvedRepo)).toContain(`${approvedRepo}:1`);
    await expect(approved.lookup(ci, 'docker.io/library/nginx:1', 'payments')).rejects.toMatchObject({ code: 'NOT_APPROVED' });

    await pipeline.fail('r1', err);
    expect((await requests.get('r1'))?.status).toBe('failed');
    expect(registry.served(approvedRepo)).toEqual([]);
    expect(await approvals.get('payments', 'docker.io/library/nginx', digest)).toBeNull();
  });

  it('withdrawing reads the ledger entry once, and removes the pending approval it decided on', async () => {
    const { requests, approvals, registry, pipeline } = setup();
    registry.faults.internalDigest = new AppError('MANIFEST_INVALID', 'nonsense');
    const err = await pipeline.promote('r1').catch((e: unknown) => e);
    const get = approvals.get.bind(approvals);
    let reads = 0;
    approvals.get = async (...args) => { reads += 1; return get(...args); };
    await pipeline.fail('r1', err);
    expect((await requests.get('r1'))?.status).toBe('failed');
    expect(reads).toBe(1);
    expect(registry.served(approvedRepo)).toEqual([]);
    expect(await get('payments', 'docker.io/library/nginx', digest)).toBeNull();
  });

  it('keeps a pending approval when the registry refuses to take the tag back, and revocation removes both', async () => {
    const { requests, approvals, registry, pipeline, revocations } = setup();
    registry.faults.internalDigest = new AppError('MANIFEST_INVALID', 'nonsense');
    registry.faults.unpublish = new AppError('REGISTRY_UNAVAILABLE', 'down', { temporary: true });
    await pipeline.fail('r1', await pipeline.promote('r1').catch((e: unknown) => e));
    expect((await requests.get('r1'))?.status).toBe('failed');
    expect(registry.served(approvedRepo)).toContain(`${approvedRepo}:1`);
    expect(await approvals.get('payments', 'docker.io/library/nginx', digest)).toMatchObject({ pending: true, internalRepository: approvedRepo, internalTag: '1', requestId: 'r1' });

    registry.faults = {};
    const revoked = await revocations.revoke(admin, { digest, team: 'payments', reason: 'failed promotion' });
    expect(revoked.map((a) => a.requestId)).toEqual(['r1']);
    expect(registry.served(approvedRepo)).toEqual([]);
    expect(await approvals.get('payments', 'docker.io/library/nginx', digest)).toBeNull();
  });

  it('completes normally: the approval is no longer pending and CI finds it', async () => {
    const { requests, approvals, pipeline, approved } = setup();
    await pipeline.promote('r1');
    expect((await requests.get('r1'))?.status).toBe('approved');
    expect((await approvals.get('payments', 'docker.io/library/nginx', digest))?.pending).toBeUndefined();
    expect((await approved.lookup(ci, 'docker.io/library/nginx:1', 'payments')).internalRef).toBe(`reg.test/${approvedRepo}@${digest}`);
  });

  it('a promotion job run again after its request failed takes back what the refused withdrawal left (tag and pending entry)', async () => {
    const { requests, approvals, registry, pipeline } = setup();
    registry.faults.internalDigest = new AppError('MANIFEST_INVALID', 'nonsense');
    registry.faults.unpublish = new AppError('REGISTRY_UNAVAILABLE', 'down', { temporary: true });
    await pipeline.fail('r1', await pipeline.promote('r1').catch((e: unknown) => e));
    expect(registry.served(approvedRepo)).toContain(`${approvedRepo}:1`);
    registry.faults = {};
    // BullMQ hands the job out again (it stalled, or a duplicate was queued).
    await pipeline.promote('r1');
    expect((await requests.get('r1'))?.status).toBe('failed');
    expect(registry.served(approvedRepo)).toEqual([]);
    expect(await approvals.get('payments', 'docker.io/library/nginx', digest)).toBeNull();
  });

  it('a run overtaken by another run of the same job that completed leaves the approval served (nothing withdrawn)', async () => {
    const { requests, approvals, registry, pipeline, approved } = setup();
    const promote = registry.promote.bind(registry);
    registry.promote = async (...args) => {
      registry.promote = promote;
      // A second run (the first stalled past its lease, BullMQ handed the job out again) completes first.
      await pipeline.promote('r1');
      expect((await requests.get('r1'))?.status).toBe('approved');
      await promote(...args);
    };
    await pipeline.promote('r1');
    expect((await requests.get('r1'))?.status).toBe('approved');
    expect(registry.served(approvedRepo)).toContain(`${approvedRepo}:1`);
    expect((await approvals.get('payments', 'docker.io/library/nginx', digest))?.pending).toBeUndefined();
    expect((await approved.lookup(ci, 'docker.io/library/nginx:1', 'payments')).internalRef).toBe(`reg.test/${approvedRepo}@${digest}`);
  });

  it('does not complete when its pending entry was rewritten meanwhile (another run): CONFLICT, retried, and the retry completes', async () => {
    const { requests, approvals, registry, pipeline } = setup();
    const promote = registry.promote.bind(registry);
    registry.promote = async (...args) => {
      registry.promote = promote;
      const pending = await approvals.get('payments', 'docker.io/library/nginx', digest);
      await approvals.put({ ...pending!, approvedAt: '2026-12-31T00:00:00.000Z' });
      await promote(...args);
    };
    await expect(pipeline.promote('r1')).rejects.toMatchObject({ code: 'CONFLICT', temporary: true });
    expect((await requests.get('r1'))?.status).toBe('promoting');
    expect((await approvals.get('payments', 'docker.io/library/nginx', digest))?.pending).toBe(true);
    await pipeline.promote('r1');
    expect((await requests.get('r1'))?.status).toBe('approved');
    expect((await approvals.get('payments', 'docker.io/library/nginx', digest))?.pending).toBeUndefined();
  });
});
