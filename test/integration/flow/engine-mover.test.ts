/**
 * The intake flow with `mover: { type: engine }` on real services: a Podman API service pulls
 * through nginx and pushes into the internal registry; the real builtin scanner (OSV fixture in
 * test/fixtures/osv-e2e/) scans what landed in quarantine. Podman recompresses every layer, so
 * the request gets a digest of its own (`stagedDigest`), and that digest, not the upstream's,
 * must be the one scanned, approved, promoted, served to CI and audited; the upstream digest
 * stays on the request as `source.digest` and maps to the staged one in the approval ledger,
 * so that asking again for the same upstream image is deduplicated.
 */
import { tagsOf } from '../../harness/tags';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ScanReport, ScanTarget } from '../../../src/scanners/types';
import { startTestApp, type TestApp } from '../../harness/app';
import { pushImage, type BuiltImage } from '../../harness/images';
import { startPodman, type PodmanService } from '../../harness/podman';
import { services, uniqueName } from '../../harness/services';
import { ADVISORY, ADVISORY_ALIAS, buildVulnerableImage, CountingScanner, privateOsvDb } from './scan-fixtures';

const run = promisify(execFile);
const svc = services();
const hostPath = svc.upstream.host.replace(':', '_');
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const STAGING_PREFIX = 'quarantine/portcullis-engine-staging/';

/** The builtin scanner, remembering what it was asked to scan. */
class RecordingScanner extends CountingScanner {
  readonly targets: Array<{ repository: string; digest: string }> = [];

  override async scan(target: ScanTarget): Promise<ScanReport> {
    this.targets.push({ repository: target.repository, digest: target.digest });
    return super.scan(target);
  }
}

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--no-tags', '--tls-verify=false', '--format', '{{.Digest}}', `docker://${ref}`]);
  return stdout.trim();
}

async function manifestStatus(repo: string, ref: string): Promise<number> {
  const res = await fetch(`${svc.internal.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept: ACCEPT } });
  return res.status;
}


/** Every staging repository of the service, paging through the catalog (docker-registry caps `n` at 1000). */
async function stagingRepositories(): Promise<string[]> {
  const found: string[] = [];
  let last = '';
  for (;;) {
    const res = await fetch(`${svc.internal.url}/v2/_catalog?n=1000${last ? `&last=${encodeURIComponent(last)}` : ''}`);
    expect(res.status).toBe(200);
    const { repositories } = (await res.json()) as { repositories: string[] | null };
    const page = repositories ?? [];
    found.push(...page.filter((r) => r.startsWith(STAGING_PREFIX)));
    if (page.length < 1000) return found;
    last = page[page.length - 1];
  }
}

describe('intake flow with the engine mover (podman)', () => {
  let podman: PodmanService;
  let app: TestApp;
  let scanner: RecordingScanner;
  let img: BuiltImage;
  let repo: string;
  let image: string;
  let quarantine: string;
  let approvedRepo: string;
  let id: string;
  let staged: string;
  let stagingBefore: string[];

  beforeAll(async () => {
    podman = await startPodman({ insecureRegistries: [svc.proxy.host, svc.internal.host] });
    scanner = new RecordingScanner('e2e', privateOsvDb());
    await scanner.check();
    app = await startTestApp({
      scanners: [scanner],
      config: { mover: { type: 'engine', engineSocket: podman.socketPath }, policy: { onFail: 'flag' } },
    });
    img = await buildVulnerableImage();
    repo = uniqueName('engine-flow');
    image = `${svc.upstream.host}/${repo}:1.0`;
    quarantine = `quarantine/${hostPath}/${repo}`;
    approvedRepo = `approved/payments/${hostPath}/${repo}`;
    await pushImage(svc.upstream.url, repo, '1.0', img);
    stagingBefore = await stagingRepositories();
  });
  afterAll(async () => {
    await app?.stop();
    await podman?.stop();
  });

  it('stages through nginx and podman: awaiting_approval under a staged digest of its own, the upstream digest kept as the source', async () => {
    const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'engine e2e' });
    expect(created.status).toBe(202);
    id = created.body.id;
    const r = await app.waitForStatus(id, ['awaiting_approval', 'failed']);
    expect(r.error).toBeNull();
    expect(r.status).toBe('awaiting_approval');
    expect(r.source.digest).toBe(img.digest);
    expect(r.stagedDigest).toMatch(/^sha256:[a-f0-9]{64}$/);
    // Podman recompresses every layer: a new manifest, a new identity.
    expect(r.stagedDigest).not.toBe(img.digest);
    staged = r.stagedDigest;
    expect(r.history.map((h: { status: string }) => h.status)).toEqual(['requested', 'resolving', 'staging', 'scanning', 'awaiting_approval']);
    expect(r.history.find((h: { status: string }) => h.status === 'scanning').note)
      .toBe(`staged in ${quarantine} as ${staged} (source ${img.digest}, mover engine)`);
  });

  it('leaves quarantine holding only the staged digest, untagged, and no staging manifest behind', async () => {
    expect(await manifestStatus(quarantine, staged)).toBe(200);
    expect(await manifestStatus(quarantine, img.digest)).toBe(404);
    expect(await tagsOf(svc.internal.url, quarantine)).toEqual([]);
    expect(await skopeoDigest(`${svc.internal.host}/${quarantine}@${staged}`)).toBe(staged);
    // This copy's staging repository exists (docker-registry keeps empty repositories listed), and
    // neither it nor any other staging repository still serves the staged digest.
    const ours = (await stagingRepositories()).filter((r) => !stagingBefore.includes(r));
    expect(ours.length).toBeGreaterThanOrEqual(1);
    for (const r of ours) {
      expect(await manifestStatus(r, staged)).toBe(404);
      expect(await tagsOf(svc.internal.url, r)).toEqual([]);
    }
  });

  it('scanned the staged digest in quarantine (the recompressed layers), never the upstream digest', async () => {
    expect(scanner.targets).toEqual([{ repository: quarantine, digest: staged }]);
    const r = (await app.call('auditor', 'GET', `/v1/requests/${id}`)).body;
    expect(r.scans).toHaveLength(1);
    expect(r.scans[0]).toMatchObject({ scanner: 'e2e', status: 'succeeded', summary: { critical: 1 } });
    expect(r.scans[0].findings).toContainEqual(expect.objectContaining({ id: ADVISORY, package: 'libgate2' }));
    expect(r.policy).toMatchObject({ verdict: 'fail', blocking: [ADVISORY] });
  });

  it('promotes the staged digest under the source tag once waived and approved', async () => {
    const waived = await app.call('approver', 'POST', `/v1/requests/${id}/waivers`, {
      findingId: ADVISORY_ALIAS, reason: 'engine e2e', expires: new Date(Date.now() + 30 * 24 * 3600 * 1000).toISOString(),
    });
    expect(waived.status).toBe(201);
    const approved = await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'ok' });
    expect(approved.status).toBe(202);
    const r = await app.waitForStatus(id, ['approved', 'failed']);
    expect(r.error).toBeNull();
    expect(r.status).toBe('approved');
    expect(r.internalRef).toBe(`${svc.internal.host}/${approvedRepo}@${staged}`);
    expect(await skopeoDigest(`${svc.internal.host}/${approvedRepo}:1.0`)).toBe(staged);
    expect(await manifestStatus(approvedRepo, img.digest)).toBe(404);
  });

  it("answers CI's lookup with the staged digest, in JSON and as text", async () => {
    const q = `/v1/approved?image=${encodeURIComponent(image)}&team=payments`;
    const json = await app.call('ci', 'GET', q);
    expect(json.status).toBe(200);
    expect(json.body).toMatchObject({ image, digest: staged, internalRef: `${svc.internal.host}/${approvedRepo}@${staged}`, team: 'payments', approvedBy: ['approver'] });
    const text = await app.call('ci', 'GET', q, undefined, { accept: 'text/plain' });
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(text.text).toBe(`${svc.internal.host}/${approvedRepo}@${staged}\n`);
  });

  it('records both digests in the audit log', async () => {
    const log = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    expect(log.status).toBe(200);
    const ours = log.body.items.filter((e: { target: string }) => e.target === `request/${id}`);
    const changed = (to: string) => ours.find((e: { action: string; details: { to?: string } }) => e.action === 'request.status_changed' && e.details.to === to);
    for (const to of ['scanning', 'awaiting_approval', 'promoting', 'approved']) {
      expect(changed(to)).toMatchObject({ details: { team: 'payments', digest: staged, sourceDigest: img.digest } });
    }
    // Before staging, the upstream digest is the only one.
    expect(changed('staging').details).toMatchObject({ digest: img.digest });
    expect(changed('staging').details.sourceDigest).toBeUndefined();
    const decided = ours.find((e: { action: string }) => e.action === 'request.approved');
    expect(decided).toMatchObject({ actor: 'approver', details: { team: 'payments', digest: staged, sourceDigest: img.digest } });
  });

  describe('asking again for the same upstream image', () => {
    it('a new request for the tag is approved at resolution, without another engine run', async () => {
      const before = scanner.targets.length;
      const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'again' });
      expect(created.status).toBe(202);
      const r = await app.waitForStatus(created.body.id, ['approved', 'failed', 'awaiting_approval']);
      expect(r.status).toBe('approved');
      expect(r.history.map((h: { status: string }) => h.status)).toEqual(['requested', 'resolving', 'approved']);
      expect(r.source.digest).toBe(img.digest);
      expect(r.stagedDigest).toBe(staged);
      expect(r.internalRef).toBe(`${svc.internal.host}/${approvedRepo}@${staged}`);
      expect(scanner.targets.length).toBe(before);
    });

    it('a request pinned to the upstream digest is answered approved at once', async () => {
      const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${img.digest}`, team: 'payments', justification: 'pinned' });
      expect(created.status).toBe(200);
      expect(created.headers.get('x-portcullis-deduplicated')).toBe('approved');
      expect(created.body).toMatchObject({ status: 'approved', stagedDigest: staged, internalRef: `${svc.internal.host}/${approvedRepo}@${staged}` });
      expect(created.body.source.digest).toBe(img.digest);
    });

    it("CI's lookup by the upstream digest answers the staged digest", async () => {
      const byDigest = `${svc.upstream.host}/${repo}@${img.digest}`;
      const res = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(byDigest)}&team=payments`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ image: byDigest, digest: staged, internalRef: `${svc.internal.host}/${approvedRepo}@${staged}` });
    });

    it('another team gets no approval from it', async () => {
      const created = await app.call('otherDev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${img.digest}`, team: 'logistics', justification: 'ours' });
      expect(created.status).toBe(202);
      expect(created.body.status).toBe('requested');
      const r = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed', 'approved']);
      expect(r.status).toBe('awaiting_approval');
    });
  });
});
