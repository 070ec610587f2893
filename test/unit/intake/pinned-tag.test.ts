/**
 * A `tag@digest` request: the digest is what is requested (it wins over the tag when pulling),
 * and the tag is recorded (the team's tag index, the approved repository's tag) only when
 * upstream confirms that it names that digest; otherwise the request goes on as one by digest.
 * Unchecked, such a request moved the team's approved tag to any approved digest, an older one
 * included, with no approver.
 */
import { ApprovedService, EventBus, Lifecycle, Pipeline, ScanRunner, type PipelineStep } from '../../../src/intake';
import { AppError } from '../../../src/lib/errors';
import { createLogger } from '../../../src/lib/logger';
import type { ImageRef } from '../../../src/registry/reference';
import { awaiting, MemoryApprovalStore, MemoryIntakeRegistry, MemoryRequestStore, MemoryScanResults } from './fakes';

const logger = createLogger({ level: 'silent' });
const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const image = 'docker.io/library/nginx';
const approvedRepo = 'approved/payments/docker.io/library/nginx';
const scope = { team: 'payments', image, platforms: [] as string[] };
const ci = { name: 'ci', roles: ['ci' as const], teams: ['payments'] };

/** An upstream whose tags name digests (`tags`); a digest resolves to itself. */
class Upstream extends MemoryIntakeRegistry {
  readonly tags = new Map<string, string>();
  readonly heads: string[] = [];
  fault?: Error;
  override async resolve(ref: ImageRef): Promise<string> {
    this.heads.push(ref.digest ?? `:${ref.tag}`);
    if (ref.digest) return ref.digest;
    if (this.fault) throw this.fault;
    const d = this.tags.get(ref.tag ?? 'latest');
    if (!d) throw new AppError('IMAGE_NOT_FOUND', `${ref.repository}:${ref.tag} does not exist upstream`);
    return d;
  }
}

async function setup() {
  const requests = new MemoryRequestStore();
  const approvals = new MemoryApprovalStore();
  const registry = new Upstream();
  const scheduled: Array<[PipelineStep, string]> = [];
  const pipeline = new Pipeline({
    requests, approvals, registry, lifecycle: new Lifecycle(requests, new EventBus()), logger, policy: () => ({ verdict: 'pass', reasons: [] }),
    scans: new ScanRunner([], new MemoryScanResults(), logger),
    scheduler: { schedule: async (step, id) => { scheduled.push([step, id]); } },
    settings: { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' },
  });
  const base = { team: 'payments', image, platforms: [], internalRepository: approvedRepo, approvedBy: ['bob'] };
  // D1: approved long ago as nginx:1.19. D2: the current nginx:1.25, approved.
  await approvals.put({ ...base, digest: D1, tags: ['1.19'], internalRef: `reg.test/${approvedRepo}@${D1}`, internalTag: '1.19', approvedAt: '2025-01-01T00:00:00.000Z', requestId: 'old' });
  await approvals.addTag(scope, '1.19', D1);
  await approvals.put({ ...base, digest: D2, tags: ['1.25'], internalRef: `reg.test/${approvedRepo}@${D2}`, internalTag: '1.25', approvedAt: '2026-01-01T00:00:00.000Z', requestId: 'new' });
  await approvals.addTag(scope, '1.25', D2);
  registry.manifests.set(`${approvedRepo}:1.25`, D2);
  registry.tags.set('1.19', D1);
  registry.tags.set('1.25', D2);
  const request = (id: string, tag: string, digest: string) => requests.create(awaiting({
    id, status: 'requested', image: `${image}:${tag}@${digest}`, requestedBy: 'mallory', decisions: [], source: { registry: 'docker.io', repository: 'library/nginx', tag, digest },
  }));
  return { requests, approvals, registry, pipeline, approved: new ApprovedService({ approvals }), request, scheduled };
}

describe('a tag@digest request', () => {
  it('whose tag names another digest upstream does not move the team\'s tag to its (older, approved) digest', async () => {
    const { requests, approvals, pipeline, approved, request } = await setup();
    await request('r9', '1.25', D1);
    await pipeline.resolve('r9');
    const r9 = await requests.get('r9');
    expect(r9?.status).toBe('approved');
    expect(r9?.internalRef).toBe(`reg.test/${approvedRepo}@${D1}`);
    // Recorded as a request by digest, and the history says why.
    expect(r9?.source).toEqual({ registry: 'docker.io', repository: 'library/nginx', digest: D1 });
    expect(r9?.history.at(-1)?.note).toContain(`tag 1.25 not recorded: upstream it names ${D2}, not ${D1}`);
    expect((await approved.lookup(ci, `${image}:1.25`, 'payments')).digest).toBe(D2);
    expect((await approvals.get('payments', image, D1))?.tags).toEqual(['1.19']);
  });

  it('whose tag names its digest upstream records the tag, as a tag request would', async () => {
    const { requests, approvals, registry, pipeline, approved, request } = await setup();
    registry.tags.set('stable', D1);
    await request('r9', 'stable', D1);
    await pipeline.resolve('r9');
    expect((await requests.get('r9'))?.source.tag).toBe('stable');
    expect((await approved.lookup(ci, `${image}:stable`, 'payments')).digest).toBe(D1);
    expect((await approvals.get('payments', image, D1))?.tags).toEqual(['1.19', 'stable']);
    // Asked upstream by digest, then by tag.
    expect(registry.heads).toEqual([D1, ':stable']);
  });

  it('whose tag is gone upstream goes on by digest; an upstream fault on the tag fails the step (retried)', async () => {
    const { requests, registry, pipeline, approved, request } = await setup();
    await request('r9', 'gone', D1);
    await pipeline.resolve('r9');
    expect((await requests.get('r9'))?.source.tag).toBeUndefined();
    await expect(approved.lookup(ci, `${image}:gone`, 'payments')).rejects.toMatchObject({ code: 'NOT_APPROVED' });

    registry.fault = new AppError('REGISTRY_UNAVAILABLE', 'proxy down', { temporary: true });
    await request('r10', 'stable', D1);
    await expect(pipeline.resolve('r10')).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect((await requests.get('r10'))?.status).toBe('resolving');
  });

  it('not yet approved, whose tag names another digest upstream, is promoted under its digest tag and leaves the team\'s tag alone', async () => {
    const { requests, approvals, registry, pipeline, approved, request, scheduled } = await setup();
    const D3 = `sha256:${'3'.repeat(64)}`;
    await request('r9', '1.25', D3);
    await pipeline.resolve('r9');
    expect(scheduled).toEqual([['stage', 'r9']]);
    expect((await requests.get('r9'))?.source).toEqual({ registry: 'docker.io', repository: 'library/nginx', digest: D3 });
    await pipeline.stage('r9');
    await pipeline.scan('r9');
    await requests.update('r9', (r) => ({ ...r, status: 'promoting', decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2026-02-01T00:00:00.000Z' }] }));
    await pipeline.promote('r9');
    expect((await requests.get('r9'))?.status).toBe('approved');
    // The approved repository's 1.25 still names D2; D3 is there under its digest tag.
    expect(await registry.internalDigest(approvedRepo, '1.25')).toBe(D2);
    expect(await registry.internalDigest(approvedRepo, `digest-${'3'.repeat(64)}`)).toBe(D3);
    expect((await approved.lookup(ci, `${image}:1.25`, 'payments')).digest).toBe(D2);
    expect((await approvals.get('payments', image, D3))?.tags).toEqual([]);
  });
});
