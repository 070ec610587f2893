/**
 * The unpublish job (a revocation's registry delete) against a re-approval's promotion of the
 * same digest, on the real internal registry and Redis, interleaved deterministically: each side
 * is paused inside its critical section by its registry port (no sleeps), the other one started,
 * and released only once the other one was refused the image's publish lease (or finished, which
 * is the race). Whatever goes first, the ledger's completed approval and the registry agree.
 */
import Redis from 'ioredis';
import { EventBus, Lifecycle, Pipeline, ScanRunner, unpublishUnlessServed, type PublishLock, type PublishLocks } from '../../../src/intake';
import { RegistryGateway } from '../../../src/intake/registry-gateway';
import { approvedRepository, quarantineRepository, sourceName } from '../../../src/intake/paths';
import { createLogger } from '../../../src/lib/logger';
import { DistributionClient } from '../../../src/registry/client';
import type { Mover } from '../../../src/registry/mover';
import { attachSbom, detachSboms, readIndex, referrersTag } from '../../../src/scanners';
import { RedisApprovalStore, RedisRequestStore, RedisStepLeases } from '../../../src/store';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { awaiting, MemoryScanResults } from '../../unit/intake/fakes';

const svc = services();
const logger = createLogger({ level: 'silent' });
const SBOM = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}');
const settings = { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' as const };

/** A promise and its resolver. */
function signal(): { wait: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const wait = new Promise<void>((resolve) => { fire = resolve; });
  return { wait, fire };
}

describe('unpublish against a re-approval of the same digest', () => {
  let img: BuiltImage;
  let client: DistributionClient;
  let redis: Redis;
  let prefix: string;

  beforeAll(async () => {
    img = await buildImage({ layers: [{ files: { 'etc/app.conf': `race ${uniqueName()}\n` } }] });
    client = new DistributionClient({ url: svc.internal.url });
  });
  afterAll(() => client.close());
  beforeEach(() => {
    redis = new Redis(svc.redis.url);
    prefix = uniqueName('publish-race');
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  const status = async (repo: string, ref: string): Promise<number> =>
    (await fetch(`${svc.internal.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: `${img.mediaType}, application/vnd.oci.image.index.v1+json` } })).status;

  /**
   * The scene: an image approved, revoked (the ledger no longer has it, the image and its SBOM
   * referrer still in the approved repository, the unpublish job queued), and approved again
   * (its request `promoting`, the image in quarantine).
   */
  async function scene() {
    const source = { registry: 'docker.io', repository: `library/${uniqueName('race')}`, tag: '1', digest: img.digest };
    const from = quarantineRepository(settings.quarantinePrefix, source);
    const to = approvedRepository(settings.approvedPath, 'payments', source);
    await pushImage(svc.internal.url, from, undefined, img);
    await pushImage(svc.internal.url, to, '1', img);
    const sbom = await attachSbom(client, to, img.digest, SBOM, new Date(0).toISOString());
    const requests = new RedisRequestStore(redis, prefix);
    const approvals = new RedisApprovalStore(redis, prefix);
    const id = uniqueName('req');
    await requests.create(awaiting({ id, image: `docker.io/${source.repository}:1`, status: 'promoting', version: 0, source, decisions: [{ by: 'bob', decision: 'approve', comment: '', at: '2025-01-01T00:00:00.000Z' }] }));
    // Leases watched: `refused` fires when a holder of the image's lease turns someone away.
    const leases = new RedisStepLeases(redis, prefix, { ttlMs: 30_000 });
    const refused = signal();
    const locks: PublishLocks = {
      acquire: async (scope: string, key: string): Promise<PublishLock | null> => {
        const lock = await leases.acquire(scope, key);
        if (!lock) refused.fire();
        return lock;
      },
    };
    const gateway = new RegistryGateway({
      upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: svc.internal.host, mover: {} as Mover,
      referrers: { detach: async (r, d) => { await detachSboms(client, r, d); } },
    });
    const pipeline = (registry = gateway) => new Pipeline({
      requests, approvals, registry, lifecycle: new Lifecycle(requests, new EventBus()), logger, scheduler: { schedule: async () => undefined },
      policy: () => ({ verdict: 'pass', reasons: [] }), scans: new ScanRunner([], new MemoryScanResults(), logger), settings, publishLocks: locks,
    });
    const task = { team: 'payments', image: sourceName(source), repository: to, digest: img.digest };
    return { id, to, sbom, approvals, requests, gateway, pipeline, locks, refused, task };
  }

  it('an unpublish that checked before the promotion deletes before the promotion copies: the re-approved image is served', async () => {
    const s = await scene();
    const checked = signal();
    const go = signal();
    // The unpublish job, paused after its check ("no completed approval serves it") and before its delete.
    const unpublishing = unpublishUnlessServed({
      approvals: s.approvals, locks: s.locks,
      registry: { unpublish: async (repository, digest) => { checked.fire(); await go.wait; await s.gateway.unpublish(repository, digest); } },
    }, s.task);
    await checked.wait;
    // The re-approval's promotion, meanwhile: it finishes (the race) or waits for the lease.
    const promoting = s.pipeline().promote(s.id);
    await Promise.race([promoting, s.refused.wait]);
    go.fire();
    expect(await unpublishing).toBe('deleted');
    await promoting;

    expect((await s.requests.get(s.id))?.status).toBe('approved');
    expect(await s.approvals.get('payments', s.task.image, img.digest)).toMatchObject({ requestId: s.id, internalRepository: s.to });
    expect((await s.approvals.get('payments', s.task.image, img.digest))?.pending).toBeUndefined();
    // The ledger says approved: the registry serves it, by tag and by digest.
    expect(await status(s.to, '1')).toBe(200);
    expect(await status(s.to, img.digest)).toBe(200);
    // The revoked approval's SBOM referrer went with the delete (the new approval attaches its own).
    expect(await status(s.to, s.sbom.digest)).toBe(404);
  });

  it('an unpublish arriving during the promotion waits, then finds the image served and keeps it and its SBOM referrer', async () => {
    const s = await scene();
    const copying = signal();
    const go = signal();
    // The promotion, paused inside its publish (about to copy, its approval still pending in the ledger).
    const paused = new RegistryGateway({
      upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: svc.internal.host, mover: {} as Mover,
      referrers: { detach: async (r, d) => { await detachSboms(client, r, d); } },
    });
    const promote = paused.promote.bind(paused);
    paused.promote = async (...args) => { copying.fire(); await go.wait; await promote(...args); };
    const promoting = s.pipeline(paused).promote(s.id);
    await copying.wait;
    const unpublishing = unpublishUnlessServed({ approvals: s.approvals, registry: s.gateway, locks: s.locks }, s.task);
    await Promise.race([unpublishing, s.refused.wait]);
    go.fire();
    await promoting;
    expect(await unpublishing).toBe('served');

    expect((await s.approvals.get('payments', s.task.image, img.digest))?.pending).toBeUndefined();
    expect(await status(s.to, '1')).toBe(200);
    expect(await status(s.to, img.digest)).toBe(200);
    expect(await status(s.to, s.sbom.digest)).toBe(200);
    expect((await readIndex(client, s.to, referrersTag(img.digest)))?.map((m) => m.digest)).toEqual([s.sbom.digest]);
  });
});
