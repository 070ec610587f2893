/**
 * A holder of an image's publish lease (src/intake/publish-lock.ts) that was stalled past the
 * lease's TTL, on the real internal registry and Redis: the lease is forced to lapse inside the
 * critical section (its key deleted, another holder taking it, as a stall would let happen), and
 * the stalled holder must not make its write: the unpublish job does not delete, the promotion
 * does not complete the ledger entry. Both fail with LEASE_LOST (temporary: their jobs retry).
 */
import Redis from 'ioredis';
import { EventBus, Lifecycle, Pipeline, PUBLISH_LOCK_SCOPE, ScanRunner, unpublishUnlessServed, type ApprovalStore, type PublishLock } from '../../../src/intake';
import { RegistryGateway } from '../../../src/intake/registry-gateway';
import { approvedRepository, quarantineRepository, sourceName } from '../../../src/intake/paths';
import { createLogger } from '../../../src/lib/logger';
import { DistributionClient } from '../../../src/registry/client';
import type { Mover } from '../../../src/registry/mover';
import { RedisApprovalStore, RedisRequestStore, RedisStepLeases } from '../../../src/store';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { awaiting, MemoryScanResults } from '../../unit/intake/fakes';

const svc = services();
const logger = createLogger({ level: 'silent' });
const settings = { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' as const };

describe('a publish lease lost under its holder', () => {
  let img: BuiltImage;
  let client: DistributionClient;
  let redis: Redis;
  let prefix: string;
  const taken: PublishLock[] = [];

  beforeAll(async () => {
    img = await buildImage({ layers: [{ files: { 'etc/app.conf': `lease ${uniqueName()}\n` } }] });
    client = new DistributionClient({ url: svc.internal.url });
  });
  afterAll(() => client.close());
  beforeEach(() => {
    redis = new Redis(svc.redis.url);
    prefix = uniqueName('publish-lost');
  });
  afterEach(async () => {
    await Promise.all(taken.splice(0).map((l) => l.release()));
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const status = async (repo: string, ref: string): Promise<number> =>
    (await fetch(`${svc.internal.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: img.mediaType } })).status;

  async function scene() {
    const source = { registry: 'docker.io', repository: `library/${uniqueName('lost')}`, tag: '1', digest: img.digest };
    const from = quarantineRepository(settings.quarantinePrefix, source);
    const to = approvedRepository(settings.approvedPath, 'payments', source);
    await pushImage(svc.internal.url, from, undefined, img);
    const requests = new RedisRequestStore(redis, prefix);
    const approvals = new RedisApprovalStore(redis, prefix);
    // Renewed from the event loop rarely: only the holder's own check can find the lapse.
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 30_000, renewEveryMs: 60_000 });
    const key = leases.key(PUBLISH_LOCK_SCOPE, `${to}@${img.digest}`);
    /** What a stall past the TTL lets happen: the lease expires and another holder takes it. */
    const lapse = async (): Promise<void> => {
      expect(await redis.del(key)).toBe(1);
      const other = await leases.acquire(PUBLISH_LOCK_SCOPE, `${to}@${img.digest}`);
      expect(other).not.toBeNull();
      taken.push(other!);
    };
    const gateway = new RegistryGateway({ upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: svc.internal.host, mover: {} as Mover });
    const task = { team: 'payments', image: sourceName(source), repository: to, digest: img.digest };
    return { source, from, to, requests, approvals, leases, key, lapse, gateway, task };
  }

  it('the unpublish job stalled after its check does not delete: LEASE_LOST, the image stays served', async () => {
    const s = await scene();
    await pushImage(svc.internal.url, s.to, '1', img);
    let deletes = 0;
    // The check ("no completed approval serves it") reads the ledger, then the holder stalls.
    const approvals: Pick<ApprovalStore, 'get'> = { get: async (...args) => { const a = await s.approvals.get(...args); await s.lapse(); return a; } };
    const registry = { unpublish: async (repository: string, digest: string) => { deletes += 1; await s.gateway.unpublish(repository, digest); } };
    const err = await unpublishUnlessServed({ approvals, registry, locks: s.leases }, s.task).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LEASE_LOST', temporary: true });
    expect(deletes).toBe(0);
    expect(await status(s.to, img.digest)).toBe(200);
    // The lease is still the new holder's: the stalled one's release did not free it.
    expect(await redis.exists(s.key)).toBe(1);
    expect(await s.leases.acquire(PUBLISH_LOCK_SCOPE, `${s.to}@${img.digest}`)).toBeNull();
  });

  it('a promotion stalled during its copy does not complete the ledger entry: LEASE_LOST, the approval stays pending', async () => {
    const s = await scene();
    const id = uniqueName('req');
    await s.requests.create(awaiting({ id, image: `docker.io/${s.source.repository}:1`, status: 'promoting', version: 0, source: s.source, decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2025-01-01T00:00:00.000Z' }] }));
    const promote = s.gateway.promote.bind(s.gateway);
    s.gateway.promote = async (...args) => { await promote(...args); await s.lapse(); };
    const pipeline = new Pipeline({
      requests: s.requests, approvals: s.approvals, registry: s.gateway, lifecycle: new Lifecycle(s.requests, new EventBus()), logger, scheduler: { schedule: async () => undefined },
      policy: () => ({ verdict: 'pass', reasons: [] }), scans: new ScanRunner([], new MemoryScanResults(), logger), settings, publishLocks: s.leases,
    });
    const err = await pipeline.promote(id).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'LEASE_LOST', temporary: true });
    expect((await s.approvals.get('payments', s.task.image, img.digest))?.pending).toBe(true);
    expect((await s.requests.get(id))?.status).toBe('promoting');
    expect(await redis.exists(s.key)).toBe(1);
  });
});
