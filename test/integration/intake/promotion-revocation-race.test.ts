/**
 * An admin's revocation landing while the digest's promotion runs, on the real internal
 * registry and Redis stores, interleaved deterministically from the ports (no sleeps): whatever
 * the point it lands at, and whether the promotion's own clean-up fails or its worker dies and
 * the job is retried, the revoked digest ends neither in the ledger, nor answered to CI, nor
 * served from the approved repository.
 */
import Redis from 'ioredis';
import { ApprovedService, EventBus, Lifecycle, Pipeline, RevocationService, ScanRunner, unpublishUnlessServed, type UnpublishTask } from '../../../src/intake';
import { RegistryGateway } from '../../../src/intake/registry-gateway';
import { approvedRepository, quarantineRepository, sourceName } from '../../../src/intake/paths';
import { AppError } from '../../../src/lib/errors';
import { createLogger } from '../../../src/lib/logger';
import { DistributionClient } from '../../../src/registry/client';
import type { Mover } from '../../../src/registry/mover';
import { RedisApprovalStore, RedisRequestStore, RedisRevocationStore, RedisStepLeases } from '../../../src/store';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { awaiting, MemoryScanResults } from '../../unit/intake/fakes';

const svc = services();
const logger = createLogger({ level: 'silent' });
const settings = { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' as const };
const admin = { name: 'root', roles: ['admin' as const], teams: ['*'] };
const ci = { name: 'ci', roles: ['ci' as const], teams: ['payments'] };

describe('a revocation during the promotion of its digest', () => {
  let img: BuiltImage;
  let client: DistributionClient;
  let redis: Redis;
  let prefix: string;

  beforeAll(async () => {
    img = await buildImage({ layers: [{ files: { 'etc/app.conf': `revoke-race ${uniqueName()}\n` } }] });
    client = new DistributionClient({ url: svc.internal.url });
  });
  afterAll(() => client.close());
  beforeEach(() => {
    redis = new Redis(svc.redis.url);
    prefix = uniqueName('promote-revoke');
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const status = async (repo: string, ref: string): Promise<number> =>
    (await fetch(`${svc.internal.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: img.mediaType } })).status;

  /**
   * A request `promoting` (its image in quarantine), the stores, a revocation service whose
   * registry deletes are queued (`queued`, run by `unpublishAll` as the unpublish job would,
   * under the publish lease), and a pipeline on the real registry.
   */
  async function scene() {
    const source = { registry: 'docker.io', repository: `library/${uniqueName('revoke')}`, tag: '1', digest: img.digest };
    const from = quarantineRepository(settings.quarantinePrefix, source);
    const to = approvedRepository(settings.approvedPath, 'payments', source);
    await pushImage(svc.internal.url, from, undefined, img);
    const requests = new RedisRequestStore(redis, prefix);
    const approvals = new RedisApprovalStore(redis, prefix);
    const revocationStore = new RedisRevocationStore(redis, prefix);
    const locks = new RedisStepLeases(redis, prefix, { ttlMs: 30_000 });
    const events = new EventBus();
    const lifecycle = new Lifecycle(requests, events);
    const id = uniqueName('req');
    await requests.create(awaiting({ id, image: `docker.io/${source.repository}:1`, status: 'promoting', version: 0, source, decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2025-01-01T00:00:00.000Z' }] }));
    const gateway = new RegistryGateway({ upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: svc.internal.host, mover: {} as Mover });
    const queued: UnpublishTask[] = [];
    const revocations = new RevocationService({ approvals, requests, lifecycle, events, revocations: revocationStore, cleanup: { unpublish: async (t) => { queued.push(t); } } });
    const unpublishAll = async () => Promise.all(queued.splice(0).map((t) => unpublishUnlessServed({ approvals, registry: gateway, locks }, t)));
    const revoke = () => revocations.revoke(admin, { digest: img.digest, team: 'payments', reason: 'malware' });
    const pipeline = new Pipeline({
      requests, approvals, registry: gateway, lifecycle, logger, revocations: revocationStore, scheduler: { schedule: async () => undefined },
      policy: () => ({ verdict: 'pass', reasons: [] }), scans: new ScanRunner([], new MemoryScanResults(), logger), settings, publishLocks: locks,
    });
    const approved = new ApprovedService({ approvals });
    const ciAnswer = () => approved.lookup(ci, `docker.io/${source.repository}@${img.digest}`, 'payments').then((a) => a.internalRef, (e: AppError) => e.code);
    return { id, to, image: sourceName(source), requests, approvals, gateway, pipeline, revoke, unpublishAll, ciAnswer };
  }

  /** Nothing of the revoked digest approved, answered or served. */
  async function expectNothingLeft(s: Awaited<ReturnType<typeof scene>>): Promise<void> {
    expect((await s.requests.get(s.id))?.status).toBe('revoked');
    expect(await s.approvals.get('payments', s.image, img.digest)).toBeNull();
    expect(await s.ciAnswer()).toBe('NOT_APPROVED');
    expect(await status(s.to, '1')).toBe(404);
    expect(await status(s.to, img.digest)).toBe(404);
  }

  it('revoked during the copy, its clean-up refused by the registry: no completed entry is written, and the unpublish job deletes the image', async () => {
    const s = await scene();
    const promote = s.gateway.promote.bind(s.gateway);
    s.gateway.promote = async (...args) => { await s.revoke(); await promote(...args); };
    // The registry cannot delete while the promotion takes back what it tagged.
    const unpublish = s.gateway.unpublish.bind(s.gateway);
    s.gateway.unpublish = async () => { throw new AppError('REGISTRY_UNAVAILABLE', 'down', { temporary: true }); };
    const err = await s.pipeline.promote(s.id).catch((e: unknown) => e);
    // The job fails (temporary: retried); the ledger holds nothing of the digest meanwhile.
    expect(err).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(await s.approvals.get('payments', s.image, img.digest)).toBeNull();
    expect(await s.ciAnswer()).toBe('NOT_APPROVED');
    s.gateway.unpublish = unpublish;
    // The revocation's unpublish job finds nothing serving it, and deletes.
    expect(await s.unpublishAll()).toEqual(['deleted']);
    await s.pipeline.promote(s.id);
    await expectNothingLeft(s);
  });

  it('revoked between the promotion\'s last checks and its ledger write: the write is refused in the same store step, and the tag withdrawn', async () => {
    const s = await scene();
    const complete = s.approvals.complete.bind(s.approvals);
    // Everything the promotion checks in code has passed; the revocation lands right before the store writes.
    s.approvals.complete = async (...args) => { await s.revoke(); return complete(...args); };
    const err = await s.pipeline.promote(s.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'REVOKED' });
    expect(await s.unpublishAll()).toEqual(['deleted']);
    await expectNothingLeft(s);
  });

  it('revoked before the copy, the worker killed after it: the retried job withdraws the tag and the pending entry the dead run left', async () => {
    const s = await scene();
    // The revocation lands between the promotion's deny-list check and its pending entry: nothing
    // of the digest is in the ledger yet, so it queues no registry delete.
    const put = s.approvals.put.bind(s.approvals);
    s.approvals.put = async (a) => {
      s.approvals.put = put;
      await s.revoke();
      await put(a);
    };
    // The worker dies right after the copy tagged the image.
    const internalDigest = s.gateway.internalDigest.bind(s.gateway);
    s.gateway.internalDigest = async () => { s.gateway.internalDigest = internalDigest; throw new Error('worker killed'); };
    await expect(s.pipeline.promote(s.id)).rejects.toThrow('worker killed');
    expect(await status(s.to, '1')).toBe(200);
    expect((await s.approvals.get('payments', s.image, img.digest))?.pending).toBe(true);
    expect(await s.unpublishAll()).toEqual([]);
    // The queue hands the job out again.
    await s.pipeline.promote(s.id);
    await expectNothingLeft(s);
  });
});
