/**
 * A request that selects platforms of a multi-platform image: one platform is staged as that
 * child's own digest (the request's identity from then on), several as a new index. What was
 * scanned, approved, promoted and handed to CI is that identity, never the upstream index.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, buildIndex, pushIndex, type BuiltIndex } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('platform selection through the pipeline', () => {
  const svc = services();
  let app: TestApp;
  let repo: string;
  let idx: BuiltIndex;

  beforeAll(async () => {
    app = await startTestApp();
    repo = uniqueName('multi');
    const amd = await buildImage({ layers: [{ files: { 'arch.txt': `amd64 ${repo}` } }], architecture: 'amd64' });
    const arm = await buildImage({ layers: [{ files: { 'arch.txt': `arm64 ${repo}` } }], architecture: 'arm64' });
    const s390 = await buildImage({ layers: [{ files: { 'arch.txt': `s390x ${repo}` } }], architecture: 's390x' });
    idx = buildIndex([amd, arm, s390]);
    await pushIndex(svc.upstream.url, repo, '3.0', idx);
  });
  afterAll(async () => { await app.stop(); });

  async function approve(platforms: string[]): Promise<{ stagedDigest: string; internalRef: string; sourceDigest: string }> {
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:3.0`, team: 'payments', justification: 'arm nodes', platforms });
    expect(created.status).toBe(202);
    const waiting = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
    expect(waiting.status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, { comment: 'ok' })).status).toBe(202);
    const done = await app.waitForStatus(created.body.id, ['approved', 'failed']);
    expect(done.status).toBe('approved');
    return { stagedDigest: done.stagedDigest, internalRef: done.internalRef, sourceDigest: done.source.digest };
  }

  it('one platform: the child digest is staged, approved and handed to CI', async () => {
    const arm = idx.images[1];
    const r = await approve(['linux/arm64']);
    expect(r.sourceDigest).toBe(idx.digest);
    expect(r.stagedDigest).toBe(arm.digest);
    expect(r.internalRef.endsWith(`@${arm.digest}`)).toBe(true);
    const res = await fetch(`${svc.internal.url}/v2/${r.internalRef.split('/').slice(1).join('/').replace(/@.*$/, '')}/manifests/${arm.digest}`, { headers: { accept: arm.mediaType } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(arm.digest);
  });

  it('two platforms: a new index of exactly those children', async () => {
    const r = await approve(['linux/amd64', 'linux/s390x']);
    expect(r.stagedDigest).not.toBe(idx.digest);
    const repoPath = r.internalRef.split('/').slice(1).join('/').replace(/@.*$/, '');
    const res = await fetch(`${svc.internal.url}/v2/${repoPath}/manifests/${r.stagedDigest}`, { headers: { accept: idx.mediaType } });
    expect(res.status).toBe(200);
    const index = await res.json() as { manifests: Array<{ digest: string }> };
    expect(index.manifests.map((m) => m.digest).sort()).toEqual([idx.images[0].digest, idx.images[2].digest].sort());
  });
});
