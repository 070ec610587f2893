/**
 * Issue 12.7, revocation: a revoked image is deleted from the approved repository (the queued
 * `unpublish` job), and its SBOM referrer goes with it: the artifact manifest and the
 * `sha256-<hex>` referrers index tag, which would otherwise go on naming a deleted image to
 * every OCI tool. The quarantine copy (kept until retention) keeps its own referrer. Approved
 * again after an admin lifts the revocation, the image gets its referrer back.
 */
import path from 'node:path';
import { DistributionClient } from '../../../src/registry/client';
import { readIndex } from '../../../src/scanners';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { until } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';

const svc = services();
const OSV = path.join(__dirname, '../../fixtures/osv/db');
const CYCLONEDX = 'application/vnd.cyclonedx+json';

describe('revocation takes the SBOM referrer out of the approved repository with the image', () => {
  let app: TestApp;
  let img: BuiltImage;
  let repo: string;
  let client: DistributionClient;
  let approvedRepo: string;
  let quarantineRepo: string;
  let hex: string;

  const manifestStatus = async (repository: string, reference: string): Promise<number> =>
    (await fetch(`${svc.internal.url}/v2/${repository}/manifests/${reference}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' } })).status;

  async function approve(justification: string): Promise<void> {
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification });
    expect(created.status).toBe(202);
    expect((await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, {})).status).toBe(202);
    expect((await app.waitForStatus(created.body.id, ['approved', 'failed'])).status).toBe('approved');
  }

  /** The SBOM artifacts listed for the image in `repository` (each checked to refer to the image). */
  async function sbomArtifacts(repository: string): Promise<string[]> {
    const listed = (await readIndex(client, repository, `sha256-${hex}`)) ?? [];
    for (const d of listed) {
      const artifact = JSON.parse((await client.getManifest(repository, d.digest)).body.toString('utf8')) as { artifactType: string; subject: { digest: string } };
      expect(artifact).toMatchObject({ artifactType: CYCLONEDX, subject: { digest: img.digest } });
    }
    return listed.map((d) => d.digest);
  }

  beforeAll(async () => {
    app = await startTestApp({ scanners: [new BuiltinScanner({ name: 'revoked-sbom', osvPath: OSV })] });
    client = new DistributionClient({ url: svc.internal.url });
    img = await buildImage({ layers: [{ files: { 'app/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0' }) } }], config: { User: '1000' } });
    repo = uniqueName('revoked-sbom');
    await pushImage(svc.upstream.url, repo, '1.0', img);
    const host = svc.upstream.host.replace(':', '_');
    approvedRepo = `approved/payments/${host}/${repo}`;
    quarantineRepo = `quarantine/${host}/${repo}`;
    hex = img.digest.slice('sha256:'.length);
  });
  afterAll(async () => {
    client?.close();
    await app?.stop();
  });

  test('approved: the image and its SBOM referrer; revoked: both gone, the quarantine referrer kept; approved again: the referrer is back', async () => {
    await approve('first');
    // The referrer is attached by a subscriber of the approval event, just after the state is saved.
    await until('the approved SBOM referrer', async () => ((await sbomArtifacts(approvedRepo)).length === 1 ? true : undefined));
    const [artifact] = await sbomArtifacts(approvedRepo);
    expect((await tagsOf(svc.internal.url, approvedRepo)).sort()).toEqual(['1.0', `sha256-${hex}`]);
    const quarantined = await sbomArtifacts(quarantineRepo);
    expect(quarantined).toHaveLength(1);

    const revoked = await app.call('admin', 'POST', '/v1/approvals/revoke', { digest: img.digest, team: 'payments', reason: 'CVE found' });
    expect(revoked.status).toBe(200);
    // The ledger stops answering at once; the registry delete is a queued job.
    await until('the revoked image deleted', async () => ((await manifestStatus(approvedRepo, img.digest)) === 404 ? true : undefined));
    expect(await manifestStatus(approvedRepo, `sha256-${hex}`)).toBe(404);
    expect(await manifestStatus(approvedRepo, artifact!)).toBe(404);
    expect(await tagsOf(svc.internal.url, approvedRepo)).toEqual([]);
    // Revocation leaves quarantine alone (retention purges it): its image and its referrer stay.
    expect(await manifestStatus(quarantineRepo, img.digest)).toBe(200);
    expect(await sbomArtifacts(quarantineRepo)).toEqual(quarantined);

    expect((await app.call('admin', 'POST', '/v1/approvals/unrevoke', { digest: img.digest, team: 'payments', reason: 'false positive' })).status).toBe(200);
    await approve('cleared');
    await until('the SBOM referrer attached again', async () => ((await sbomArtifacts(approvedRepo)).length === 1 ? true : undefined));
    expect((await tagsOf(svc.internal.url, approvedRepo)).sort()).toEqual(['1.0', `sha256-${hex}`]);
    const [again] = await sbomArtifacts(approvedRepo);
    expect(await manifestStatus(approvedRepo, again!)).toBe(200);
  });
});
