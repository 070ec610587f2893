/**
 * Issue 12.7, the tag clash: on docker-registry 2.8 (no referrers API) the SBOM referrer of a
 * digest is listed under the referrers tag schema's tag `sha256-<hex>`. A digest-only approval
 * used to be promoted under that very tag, so the two overwrote each other (the SBOM was left
 * unlisted, or the approval's tag replaced by the referrers index). A digest-only approval now
 * takes `digest-<hex>`; both tags survive, as another OCI client (skopeo) and the registry's
 * own tag list show. An approval made with the old name keeps its image under `sha256-<hex>`:
 * the SBOM attach leaves a tag that holds an image alone.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';
import { DistributionClient } from '../../../src/registry/client';
import { attachSbom } from '../../../src/scanners';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';

const svc = services();
const OSV = path.join(__dirname, '../../fixtures/osv/db');
const CYCLONEDX = 'application/vnd.cyclonedx+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';

const skopeo = (...args: string[]): string => execFileSync('skopeo', [...args], { encoding: 'utf8' });
const ref = (repo: string, tag: string): string => `docker://${svc.internal.host}/${repo}:${tag}`;
/** The manifest at a tag as skopeo (an OCI client of its own, not ours) reads it: its bytes and its digest. */
function rawAt(repo: string, tag: string): { raw: string; digest: string } {
  const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', ref(repo, tag)]);
  return { raw: raw.toString('utf8'), digest: `sha256:${createHash('sha256').update(raw).digest('hex')}` };
}

describe('a digest-only approval and its SBOM referrer on a registry without the referrers API', () => {
  let app: TestApp;
  let img: BuiltImage;
  let repo: string;

  beforeAll(async () => {
    const scanner = new BuiltinScanner({ name: 'refs', osvPath: OSV });
    app = await startTestApp({ scanners: [scanner] });
    img = await buildImage({ layers: [{ files: { 'app/node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', version: '1.3.0' }) } }], config: { User: '1000' } });
    repo = uniqueName('by-digest');
    await pushImage(svc.upstream.url, repo, 'v1', img);
  });
  afterAll(() => app?.stop());

  test('the approval is tagged digest-<hex>, the referrers index sha256-<hex>: both survive, each what it should be', async () => {
    const hex = img.digest.slice('sha256:'.length);
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${img.digest}`, team: 'payments', justification: 'pinned' });
    expect(created.status).toBe(202);
    expect((await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, {})).status).toBe(202);
    const r = await app.waitForStatus(created.body.id, ['approved', 'failed']);
    expect(r.status).toBe('approved');
    const approved = `approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}`;
    // The referrer is attached by a subscriber of the approval event, just after the state is saved.
    await waitFor(async () => (await tagsOf(svc.internal.url, approved)).includes(`sha256-${hex}`), 'the referrers tag in the approved repository');

    expect((await tagsOf(svc.internal.url, approved)).sort()).toEqual([`digest-${hex}`, `sha256-${hex}`]);
    expect(skopeo('list-tags', '--tls-verify=false', `docker://${svc.internal.host}/${approved}`)).toContain(`"digest-${hex}"`);
    // The approval's tag serves the approved image itself.
    expect(rawAt(approved, `digest-${hex}`).digest).toBe(img.digest);
    // The referrers tag serves an index listing the SBOM artifact whose subject is the image.
    const index = JSON.parse(rawAt(approved, `sha256-${hex}`).raw) as { mediaType: string; manifests: Array<{ digest: string; artifactType?: string }> };
    expect(index.mediaType).toBe(INDEX);
    expect(index.manifests.map((m) => m.artifactType)).toEqual([CYCLONEDX]);
    const artifact = JSON.parse(skopeo('inspect', '--raw', '--tls-verify=false', `docker://${svc.internal.host}/${approved}@${index.manifests[0]!.digest}`)) as { subject: { digest: string }; artifactType: string };
    expect(artifact).toMatchObject({ artifactType: CYCLONEDX, subject: { digest: img.digest } });
    // The ledger names the new tag; CI's lookup goes by digest and answers the digest reference.
    const found = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(`${svc.upstream.host}/${repo}@${img.digest}`)}&team=payments`);
    expect(found.body.internalRef).toBe(`${svc.internal.host}/${approved}@${img.digest}`);
    const ledger = await app.services.approvals.get('payments', `${svc.upstream.host}/${repo}`, img.digest);
    expect(ledger?.internalTag).toBe(`digest-${hex}`);
  });

  test('an approval made with the old name (image tagged sha256-<hex>) keeps its tag: the SBOM attach leaves it alone', async () => {
    const hex = img.digest.slice('sha256:'.length);
    const old = `approved/payments/legacy/${uniqueName('old-tag')}`;
    await pushImage(svc.internal.url, old, `sha256-${hex}`, img);
    const client = new DistributionClient({ url: svc.internal.url });
    try {
      const attached = await attachSbom(client, old, img.digest, Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.6"}'), new Date(0).toISOString());
      expect(attached.tag).toBeNull();
      expect(attached.digest).toMatch(/^sha256:/);
    } finally {
      client.close();
    }
    expect(await tagsOf(svc.internal.url, old)).toEqual([`sha256-${hex}`]);
    expect(rawAt(old, `sha256-${hex}`).digest).toBe(img.digest);
  });
});
