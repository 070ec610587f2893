/**
 * Issue 8.1 end to end (redis, both registries, nginx, the real builtin scanner): what is
 * promoted is exactly what was scanned or judged. Hostile indexes built in the test:
 * - a vulnerable linux/amd64 child labelled as an attestation (`vnd.docker.reference.type`),
 *   next to a clean arm64 child: it is scanned and the request fails on its finding;
 * - the same child behind a foreign descriptor media type: judged by its bytes, scanned;
 * - a child that is neither an image nor an attestation by content (in-toto layers under
 *   linux/amd64): staging refuses the index with UNSCANNABLE_CHILD, or (drop) stages a new
 *   index without it, and that new digest is what is scanned, approved and promoted;
 * - 20,000 listings of the vulnerable child: one scan, the finding, a clear code.
 * In every refused case nothing appears under approved/.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import {
  attestationEntry, buildAttestation, buildImage, customIndex, pushImage, pushManifest, type BuiltImage, type BuiltIndex,
} from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { tagsOf } from '../../harness/tags';
import { ADVISORY, buildVulnerableImage, CountingScanner, privateOsvDb } from './scan-fixtures';

const svc = services();
const hostPath = svc.upstream.host.replace(':', '_');
const entry = (img: BuiltImage, extra: object = {}): object => ({ mediaType: img.mediaType, digest: img.digest, size: img.manifest.length, platform: img.platform, ...extra });

async function pushCustom(repo: string, tag: string, idx: BuiltIndex): Promise<void> {
  for (const img of idx.images) await pushImage(svc.upstream.url, repo, undefined, img);
  await pushManifest(svc.upstream.url, repo, tag, idx.manifest, idx.mediaType);
}

describe('hostile image indexes through the pipeline', () => {
  let vulnerable: BuiltImage;
  let clean: BuiltImage;

  beforeAll(async () => {
    vulnerable = await buildVulnerableImage();
    clean = await buildImage({ layers: [{ files: { 'etc/motd': 'clean arm64\n' } }], config: { User: '1000' }, architecture: 'arm64' });
  });

  describe('scanning.unscannableChildren: fail (default), onFail: reject', () => {
    let app: TestApp;
    let scanner: CountingScanner;
    beforeAll(async () => {
      scanner = new CountingScanner('e2e', privateOsvDb());
      await scanner.check();
      app = await startTestApp({ scanners: [scanner], config: { policy: { onFail: 'reject' } } });
    });
    afterAll(async () => { await app.stop(); });

    async function request(repo: string): Promise<any> {
      const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'hostile index' });
      expect(created.status).toBe(202);
      const r = await app.waitForStatus(created.body.id, ['failed', 'awaiting_approval']);
      expect(await tagsOf(svc.internal.url, `approved/payments/${hostPath}/${repo}`)).toEqual([]);
      return r;
    }

    it.each([
      ['labelled as an attestation', { annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': 'sha256:' + '0'.repeat(64) } }],
      ['behind a foreign descriptor media type', { mediaType: 'application/vnd.example.not-an-image+json' }],
    ])('a vulnerable runnable child %s is scanned: POLICY_FAILED on its finding', async (_what, disguise) => {
      const repo = uniqueName('disguised');
      await pushCustom(repo, '1.0', customIndex([entry(clean), entry(vulnerable, disguise)], [clean, vulnerable]));
      const r = await request(repo);
      expect(r.status).toBe('failed');
      expect(r.error.code).toBe('POLICY_FAILED');
      expect(r.policy.blocking).toEqual([ADVISORY]);
      expect(r.scans[0].findings).toContainEqual(expect.objectContaining({ id: ADVISORY, platform: 'linux/amd64' }));
    });

    it('a child neither scannable nor inert fails staging with UNSCANNABLE_CHILD; nothing is scanned or approved', async () => {
      const repo = uniqueName('artifact');
      const artifact = buildAttestation(clean, { platform: { os: 'linux', architecture: 'amd64' } });
      const att = buildAttestation(clean);
      await pushCustom(repo, '1.0', customIndex([entry(clean), attestationEntry(att, clean), entry(artifact)], [clean, att, artifact]));
      const before = scanner.scans;
      const r = await request(repo);
      expect(r.status).toBe('failed');
      expect(r.error.code).toBe('UNSCANNABLE_CHILD');
      expect(r.error.message).toContain(`child ${artifact.digest}`);
      expect(r.history.map((h: { status: string }) => h.status)).toEqual(['requested', 'resolving', 'staging', 'failed']);
      expect(scanner.scans).toBe(before);
    });

    it('20,000 listings of one vulnerable child: one scan, its finding, POLICY_FAILED', async () => {
      const repo = uniqueName('repeated');
      await pushCustom(repo, '1.0', customIndex(Array.from({ length: 20_000 }, () => entry(vulnerable)), [vulnerable]));
      const before = scanner.scans;
      const r = await request(repo);
      expect(r.status).toBe('failed');
      expect(r.error.code).toBe('POLICY_FAILED');
      expect(scanner.scans).toBe(before + 1);
      expect(r.scans[0].findings.filter((f: { id: string }) => f.id === ADVISORY)).toEqual([expect.objectContaining({ platform: 'linux/amd64' })]);
    });
  });

  describe('scanning.unscannableChildren: drop', () => {
    let app: TestApp;
    beforeAll(async () => {
      const scanner = new CountingScanner('e2e', privateOsvDb());
      await scanner.check();
      app = await startTestApp({ scanners: [scanner], config: { scanning: { unscannableChildren: 'drop' } } });
    });
    afterAll(async () => { await app.stop(); });

    it('stages, scans, approves and promotes a new index without the child; the child is never promoted', async () => {
      const repo = uniqueName('dropped');
      const artifact = buildAttestation(clean, { platform: { os: 'linux', architecture: 'amd64' } });
      const att = buildAttestation(clean);
      const idx = customIndex([entry(clean), attestationEntry(att, clean), entry(artifact)], [clean, att, artifact]);
      await pushCustom(repo, '1.0', idx);
      const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'drop' });
      const waiting = await app.waitForStatus(created.body.id, ['failed', 'awaiting_approval']);
      expect(waiting.status).toBe('awaiting_approval');
      expect(waiting.source.digest).toBe(idx.digest);
      expect(waiting.stagedDigest).not.toBe(idx.digest);
      expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, { comment: 'ok' })).status).toBe(202);
      const done = await app.waitForStatus(created.body.id, ['approved', 'failed']);
      expect(done.status).toBe('approved');
      const approvedRepo = `approved/payments/${hostPath}/${repo}`;
      const res = await fetch(`${svc.internal.url}/v2/${approvedRepo}/manifests/${waiting.stagedDigest}`, { headers: { accept: idx.mediaType } });
      expect(res.status).toBe(200);
      const served = await res.json() as { manifests: Array<{ digest: string }> };
      expect(served.manifests.map((m) => m.digest)).toEqual([clean.digest, att.digest]);
      const child = await fetch(`${svc.internal.url}/v2/${approvedRepo}/manifests/${artifact.digest}`, { method: 'HEAD', headers: { accept: artifact.mediaType } });
      expect(child.status).toBe(404);
    });
  });
});
