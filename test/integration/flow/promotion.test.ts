/**
 * Promotion goes through the copy engine inside the internal registry (real docker-registry,
 * through a fault proxy): layers are mounted from quarantine, never uploaded again; a
 * temporary registry fault on one mount is retried instead of failing the promotion; an
 * index is promoted with its children before it, and the tag resolves to the digest.
 */
import { RegistryGateway } from '../../../src/intake/registry-gateway';
import { DistributionClient } from '../../../src/registry/client';
import type { Mover } from '../../../src/registry/mover';
import { startFaultProxy, type FaultAction, type FaultProxy, type FaultRequest } from '../../harness/fault-proxy';
import { buildImage, buildIndex, pushIndex, randomFile } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('promotion with the copy engine', () => {
  const svc = services();
  let proxy: FaultProxy;
  let client: DistributionClient;

  afterEach(async () => {
    client?.close();
    await proxy?.close();
  });

  const gateway = (decide: (r: FaultRequest) => FaultAction) => async () => {
    proxy = await startFaultProxy(svc.internal.url, decide);
    client = new DistributionClient({ url: proxy.url });
    const unused = {} as Mover;
    return new RegistryGateway({ upstreamClient: () => { throw new Error('no upstream here'); }, internal: client, internalHost: proxy.host, mover: unused, copy: { retries: 3, retryBaseMs: 5 } });
  };

  it('mounts every blob of an index from quarantine, retries a failed mount, and tags last', async () => {
    const from = `quarantine/${uniqueName('promo')}`;
    const to = `approved/payments/${uniqueName('promo')}`;
    const amd = await buildImage({ layers: [{ files: {}, raw: randomFile(30_000) }] });
    const arm = await buildImage({ architecture: 'arm64', layers: [{ files: {}, raw: randomFile(30_000) }] });
    const idx = buildIndex([amd, arm]);
    await pushIndex(svc.internal.url, from, undefined, idx);

    let failed = false;
    const g = await gateway((r) => {
      // The first cross-repository mount answers 503, as a registry restarting would.
      if (!failed && r.method === 'POST' && r.path.startsWith(`/v2/${to}/blobs/uploads/`) && r.path.includes('mount=')) {
        failed = true;
        return { kind: 'respond', status: 503, body: '{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}', headers: { 'content-type': 'application/json' } };
      }
      return { kind: 'pass' };
    })();
    await g.promote(from, to, idx.digest, '1.0');

    expect(failed).toBe(true);
    expect(await g.internalDigest(to, '1.0')).toBe(idx.digest);
    const writes = proxy.log.filter((r) => r.path.startsWith(`/v2/${to}/`) && r.method !== 'HEAD' && r.method !== 'GET');
    // No blob bytes were uploaded: every blob was mounted (PUT/PATCH only for manifests).
    expect(writes.filter((r) => r.path.includes('/blobs/') && r.method !== 'POST')).toEqual([]);
    const manifestPuts = writes.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/')).map((r) => r.path.split('/manifests/')[1]);
    expect(manifestPuts.at(-1)).toBe('1.0');
    expect(manifestPuts.slice(0, -1).sort()).toEqual([amd.digest, arm.digest].sort());
  });
});
