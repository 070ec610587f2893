/**
 * Movers that do not preserve digests (the Docker Engine mover re-encodes layers): the
 * staged digest becomes the request's identity for scanning, approval and promotion, the
 * upstream digest stays in `source.digest`, and the audit log records both. A mover that
 * preserves digests and serves another digest is still a DIGEST_MISMATCH.
 */
import { EventBus, Lifecycle, Pipeline, ScanRunner, type DomainEvent } from '../../../src/intake';
import { RegistryGateway } from '../../../src/intake/registry-gateway';
import { createLogger } from '../../../src/lib/logger';
import type { CopyOptions, CopyResult, Mover } from '../../../src/registry/mover';
import type { ImageRef } from '../../../src/registry/reference';
import type { RegistryClient, RegistryWriter } from '../../../src/registry/types';
import { awaiting, MemoryApprovalStore, MemoryIntakeRegistry, MemoryRequestStore, MemoryScanResults } from './fakes';

const logger = createLogger({ level: 'silent' });
const upstreamDigest = `sha256:${'a'.repeat(64)}`;
const engineDigest = `sha256:${'e'.repeat(64)}`;

/** An in-memory Mover: records the copy and answers with a fixed destination digest. */
class FakeMover implements Mover {
  readonly copies: Array<{ src: ImageRef; dst: ImageRef; opts?: CopyOptions }> = [];
  constructor(readonly name: string, readonly preservesDigest: boolean, private readonly served: string) {}
  async copy(src: ImageRef, dst: ImageRef, opts?: CopyOptions): Promise<CopyResult> {
    this.copies.push({ src, dst, opts });
    const sourceDigest = src.digest ?? upstreamDigest;
    return { digest: this.served, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, sourceDigest, platforms: [{ sourceDigest, digest: this.served }], mapping: { [sourceDigest]: this.served } };
  }
}

function gateway(mover: Mover): RegistryGateway {
  return new RegistryGateway({
    upstreamClient: (registry) => { if (registry !== 'docker.io') throw new Error(`not allowed: ${registry}`); return {} as RegistryClient; },
    internal: { url: 'http://internal.test' } as RegistryWriter, internalHost: 'internal.test', mover,
  });
}

describe('staging with a mover that does not preserve digests', () => {
  it('reports the staged digest, the source digest and the mover', async () => {
    const mover = new FakeMover('engine', false, engineDigest);
    const staged = await gateway(mover).stage({ registry: 'docker.io', repository: 'library/nginx', tag: '1', digest: upstreamDigest }, 'quarantine/docker.io/library/nginx', []);
    expect(staged).toEqual({ digest: engineDigest, sourceDigest: upstreamDigest, preservesDigest: false, mover: 'engine' });
    expect(mover.copies[0].src).toEqual({ registry: 'docker.io', repository: 'library/nginx', digest: upstreamDigest });
  });

  function setup(preservesDigest: boolean) {
    const requests = new MemoryRequestStore();
    const approvals = new MemoryApprovalStore();
    const registry = new MemoryIntakeRegistry();
    registry.preservesDigest = preservesDigest;
    registry.stagedDigest = engineDigest;
    const events = new EventBus();
    const seen: DomainEvent[] = [];
    events.subscribe((e) => { seen.push(e); });
    const pipeline = new Pipeline({
      requests, approvals, registry, logger, lifecycle: new Lifecycle(requests, events), policy: () => ({ verdict: 'pass', reasons: [] }),
      scans: new ScanRunner([], new MemoryScanResults(), logger), scheduler: { schedule: async () => undefined },
      settings: { quarantinePrefix: 'quarantine', approvedPath: 'approved/{team}/{registry}/{repository}', publicHost: 'reg.test', approvalsRequired: 1, onPolicyFail: 'flag' },
    });
    void requests.create(awaiting({ status: 'staging', scans: [], source: { registry: 'docker.io', repository: 'library/nginx', tag: '1', digest: upstreamDigest } }));
    return { requests, approvals, pipeline, seen };
  }

  it('takes the staged digest as the identity through scan, approval and promotion, and audits both', async () => {
    const { requests, approvals, pipeline, seen } = setup(false);
    await pipeline.stage('r1');
    const scanning = await requests.get('r1');
    expect(scanning).toMatchObject({ status: 'scanning', stagedDigest: engineDigest, source: { digest: upstreamDigest } });
    expect(seen.at(-1)?.details).toMatchObject({ to: 'scanning', digest: engineDigest, sourceDigest: upstreamDigest });
    expect(scanning?.history.at(-1)?.note).toContain(upstreamDigest);

    await pipeline.scan('r1');
    await requests.update('r1', (r) => ({ ...r, status: 'promoting', decisions: [{ by: 'bob', decision: 'approve', comment: '', at: r.createdAt }] }));
    await pipeline.promote('r1');
    const done = await requests.get('r1');
    expect(done).toMatchObject({ status: 'approved', internalRef: `reg.test/approved/payments/docker.io/library/nginx@${engineDigest}`, source: { digest: upstreamDigest } });
    expect(await approvals.get('payments', 'docker.io/library/nginx', engineDigest)).toMatchObject({ digest: engineDigest, tags: ['1'] });
    expect(await approvals.get('payments', 'docker.io/library/nginx', upstreamDigest)).toBeNull();
    expect(seen.at(-1)?.details).toMatchObject({ to: 'approved', digest: engineDigest, sourceDigest: upstreamDigest });
  });

  it('still refuses another digest from a mover that preserves digests', async () => {
    const { requests, pipeline } = setup(true);
    await expect(pipeline.stage('r1')).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    expect((await requests.get('r1'))?.status).toBe('staging');
  });
});
