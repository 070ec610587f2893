/**
 * Issue 12.7, concurrent attaches: on docker-registry 2.8 (no referrers API, no conditional
 * PUT) the referrers index under `sha256-<hex>` is read, changed and written back by each
 * attach. Many attaches of distinct SBOMs to one subject at once must leave every one of them
 * listed, whether they run in one process or in several workers sharing Redis.
 */
import Redis from 'ioredis';
import { DistributionClient } from '../../../src/registry/client';
import { attachSbom, readIndex, referrersTag } from '../../../src/scanners';
import { RedisStepLeases } from '../../../src/store';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { until } from '../../harness/proc';
import { runTs } from '../../harness/worker-process';

const svc = services();
const N = 12;

const sbomOf = (i: number, label: string): Buffer => Buffer.from(JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', serialNumber: `urn:uuid:${label}-${i}`, components: [] }));

describe('concurrent SBOM attaches to one subject on a registry without the referrers API', () => {
  let img: BuiltImage;
  let client: DistributionClient;
  let redis: Redis;
  let prefix: string;
  let locks: RedisStepLeases;

  beforeAll(async () => {
    img = await buildImage({ layers: [{ files: { 'etc/app.conf': `concurrency ${uniqueName()}\n` } }] });
    client = new DistributionClient({ url: svc.internal.url });
    redis = new Redis(svc.redis.url);
    prefix = uniqueName('referrers');
    // As main.ts wires them: the step leases, shared by every process through Redis.
    locks = new RedisStepLeases(redis, prefix, { ttlMs: 30_000 });
  });
  afterAll(async () => {
    client.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  test(`${N} attaches at once in one process: every artifact is listed under the referrers tag`, async () => {
    const repo = uniqueName('referrers-race');
    await pushImage(svc.internal.url, repo, undefined, img);
    const attached = await Promise.all(Array.from({ length: N }, (_, i) => attachSbom(client, repo, img.digest, sbomOf(i, repo), new Date(0).toISOString(), { locks })));
    const digests = attached.map((a) => a.digest);
    expect(new Set(digests).size).toBe(N);
    const listed = await readIndex(client, repo, referrersTag(img.digest));
    expect(listed?.map((d) => d.digest).sort()).toEqual([...digests].sort());
  });

  test('two worker processes and this one attach at once: every artifact is listed, no lease is left behind', async () => {
    const repo = uniqueName('referrers-procs');
    await pushImage(svc.internal.url, repo, undefined, img);
    const barrier = uniqueName('referrers-barrier');
    const workers = ['a', 'b'].map((label) => runTs('test/harness/sbom-attacher.ts', [svc.internal.url, svc.redis.url, prefix, repo, img.digest, String(N / 3), `${repo}-${label}`, barrier]));
    // Every writer starts at once: the workers wait for the go once both are up.
    await until('both worker processes ready', async () => (Number(await redis.get(`${barrier}:ready`)) === 2 ? true : undefined), 60_000);
    await redis.set(`${barrier}:go`, '1');
    const here = await Promise.all(Array.from({ length: N / 3 }, (_, i) => attachSbom(client, repo, img.digest, sbomOf(i, `${repo}-here`), new Date(0).toISOString(), { locks })));
    const codes = await Promise.all(workers.map((w) => w.exited));
    // A worker's output is its failure message.
    expect(codes.map((code, i) => (code === 0 ? 0 : workers[i]!.output()))).toEqual([0, 0]);
    const theirs = workers.flatMap((w) => JSON.parse(w.output().trim().split('\n').pop() ?? '[]') as string[]);
    const digests = [...here.map((a) => a.digest), ...theirs];
    expect(new Set(digests).size).toBe(N);
    const listed = await readIndex(client, repo, referrersTag(img.digest));
    expect(listed?.map((d) => d.digest).sort()).toEqual([...digests].sort());
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    await redis.del(`${barrier}:ready`, `${barrier}:go`);
  });
});
