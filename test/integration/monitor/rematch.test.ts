/**
 * Issue 13.1 and 12.7 end to end on real services (redis, docker-registry, nginx): an image is
 * approved against an OSV folder with no advisory for it; the builtin scanner keeps its
 * inventory (a CycloneDX 1.6 SBOM, served at /v1/images/{digest}/sbom) and attaches that SBOM
 * as an OCI referrer to the quarantined and, once approved, to the approved image (found by a
 * client following the referrers tag schema). A real GitHub advisory for the image's lodash is
 * then added and a sync run: the approved digest's stored findings hold the advisory, a
 * `findings.updated` event was published, and neither the registry's nor the proxy's access log
 * shows a blob read during the re-match.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { tempDir, waitFor, type Service } from '../../harness/proc';
import { realworld } from '../../harness/realworld';
import { startRegistry, type RegistryService } from '../../harness/registry';
import { services, uniqueName } from '../../harness/services';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { RedisScanResultStore } from '../../../src/store';
import type { DomainEvent } from '../../../src/intake/events';

const svc = services();
const ADVISORY = 'GHSA-35jh-r3h4-6jhm';
const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n';
const DPKG_STATUS = 'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: Debian base system miscellaneous files\n';

function registryBlobReads(registry: RegistryService, repoPart: string): number {
  const log = readFileSync(path.join(registry.dir, 'internal-registry.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes(repoPart) && /"(GET|HEAD) \/v2\/[^"]*\/blobs\/sha256:/.test(l)).length;
}

function proxyBlobReads(repoPart: string): number {
  return readFileSync(svc.proxy.accessLog, 'utf8').split('\n').filter((l) => l.includes(repoPart) && l.includes('/blobs/')).length;
}

function registryAccessLines(registry: RegistryService): number {
  return readFileSync(path.join(registry.dir, 'internal-registry.log'), 'utf8').split('\n').filter((l) => /"(GET|HEAD|PUT|POST|PATCH) \/v2\//.test(l)).length;
}

describe('inventory kept per digest, SBOM referrers, re-match without registry traffic', () => {
  let registry: RegistryService & Service;
  let app: TestApp;
  let img: BuiltImage;
  let repo: string;
  let osvPath: string;
  let syncFrom: string;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    // An internal registry of this test's own, with its access log on (the harness's is off).
    registry = await startRegistry({ name: 'internal-registry', config: { log: { level: 'info', accesslog: { disabled: false } } } });
    const base = tempDir('osv-rematch');
    osvPath = path.join(base, 'live');
    syncFrom = path.join(base, 'source');
    // Data with advisories, none for this image: minimist's (it holds minimist 1.2.6, fixed).
    for (const dir of [osvPath, syncFrom]) {
      mkdirSync(path.join(dir, 'npm'), { recursive: true });
      for (const f of ['GHSA-vh95-rmgr-6w4m.json', 'GHSA-xvch-5gv4-984h.json']) cpSync(realworld('osv', 'npm', f), path.join(dir, 'npm', f));
    }
    img = await buildImage({
      layers: [
        { files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': DPKG_STATUS } },
        { files: {
          'usr/lib/node_modules/lodash/package.json': JSON.stringify({ name: 'lodash', version: '4.17.20' }),
          'usr/lib/node_modules/minimist/package.json': JSON.stringify({ name: 'minimist', version: '1.2.6' }),
        } },
      ],
      config: { User: '1000:1000' },
    });
    repo = uniqueName('inventoried');
    await pushImage(svc.upstream.url, repo, '1.0', img);
    const scanner = new BuiltinScanner({ name: 'inv', osvPath });
    await scanner.check();
    app = await startTestApp({
      scanners: [scanner],
      config: {
        internalRegistry: { url: registry.url },
        scanners: [{ name: 'inv', type: 'builtin', osvPath, sync: { from: [syncFrom], every: '6h' } }],
      },
    });
    app.services.events.subscribe((e) => { events.push(e); });
  });

  afterAll(async () => {
    await app?.stop();
    await registry?.stop();
  });

  let id: string;
  let quarantineRepo: string;
  let sbom: Buffer;

  it('keeps the scanned inventory as a CycloneDX SBOM and attaches it to the quarantined image', async () => {
    const created = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}:1.0`, team: 'payments', justification: 'inventory' });
    expect(created.status).toBe(202);
    id = created.body.id;
    const r = await app.waitForStatus(id, ['awaiting_approval', 'failed']);
    expect(r.status).toBe('awaiting_approval');
    expect(r.scans[0].findings.filter((f: { kind: string }) => f.kind === 'vulnerability')).toEqual([]);

    const res = await fetch(`${app.url}/v1/images/${img.digest}/sbom`, { headers: { authorization: 'Bearer token-dev' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/vnd\.cyclonedx\+json/);
    sbom = Buffer.from(await res.arrayBuffer());
    const bom = JSON.parse(sbom.toString('utf8'));
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6', metadata: { component: { type: 'container', version: img.digest } } });
    const lodash = bom.components.find((c: { name: string }) => c.name === 'lodash');
    expect(lodash).toMatchObject({ version: '4.17.20', purl: 'pkg:npm/lodash@4.17.20', evidence: { occurrences: [{ location: '/usr/lib/node_modules/lodash/package.json' }] } });
    expect(lodash.properties).toContainEqual({ name: 'portcullis:layer:digest', value: img.layers[1]!.digest });

    // Another team's reader gets 404, like a digest never scanned.
    expect((await app.call('otherDev', 'GET', `/v1/images/${img.digest}/sbom`)).status).toBe(404);
    expect((await app.call('dev', 'GET', `/v1/images/sha256:${'0'.repeat(64)}/sbom`)).status).toBe(404);
    expect((await app.call('dev', 'GET', '/v1/images/latest/sbom')).status).toBe(400);

    // The quarantined image has the SBOM as a referrer under the referrers tag; approved/ has nothing yet.
    quarantineRepo = bom.metadata.component.name.slice(registry.host.length + 1);
    expect(await referrerSbom(quarantineRepo)).toEqual(sbom);
    const approvedTags = await fetch(`${registry.url}/v2/approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}/tags/list`);
    expect(approvedTags.status).toBe(404);
  });

  /** A client following the referrers tag schema (distribution spec 1.1), at the HTTP level: the SBOM it finds. */
  async function referrerSbom(repository: string): Promise<Buffer> {
    const tag = `sha256-${img.digest.slice('sha256:'.length)}`;
    // skopeo, an OCI client of its own, reads the referrers index at the tag.
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/${repository}:${tag}`], { encoding: 'utf8' });
    const index = JSON.parse(raw);
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const entry = index.manifests.find((m: { artifactType?: string }) => m.artifactType === 'application/vnd.cyclonedx+json');
    expect(entry).toBeDefined();
    const manifest = await (await fetch(`${registry.url}/v2/${repository}/manifests/${entry.digest}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } })).json() as {
      artifactType: string; subject: { digest: string }; layers: Array<{ digest: string; mediaType: string }>; config: { mediaType: string };
    };
    expect(manifest.artifactType).toBe('application/vnd.cyclonedx+json');
    expect(manifest.subject.digest).toBe(img.digest);
    expect(manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
    expect(manifest.layers[0]!.mediaType).toBe('application/vnd.cyclonedx+json');
    return Buffer.from(await (await fetch(`${registry.url}/v2/${repository}/blobs/${manifest.layers[0]!.digest}`)).arrayBuffer());
  }

  let approvedRepo: string;

  it('attaches the same SBOM to the approved image once approved', async () => {
    const approve = await app.call('approver', 'POST', `/v1/requests/${id}/approve`, { comment: 'clean' });
    expect(approve.status).toBe(202);
    const r = await app.waitForStatus(id, ['approved', 'failed']);
    expect(r.status).toBe('approved');
    approvedRepo = `approved/payments/${svc.upstream.host.replace(':', '_')}/${repo}`;
    // The referrer is attached by a subscriber of the approval event, just after the state is saved.
    const tag = `sha256-${img.digest.slice('sha256:'.length)}`;
    await waitFor(async () => (await fetch(`${registry.url}/v2/${approvedRepo}/manifests/${tag}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.index.v1+json' } })).status === 200, 'the approved referrers tag');
    expect(await referrerSbom(approvedRepo)).toEqual(sbom);
  });

  it('re-matches the approved digest from its inventory after a sync adds a real advisory, with no blob read', async () => {
    cpSync(realworld('osv', 'npm', `${ADVISORY}.json`), path.join(syncFrom, 'npm', `${ADVISORY}.json`));
    const blobReadsBefore = registryBlobReads(registry, repo);
    const linesBefore = registryAccessLines(registry);
    const proxyBefore = proxyBlobReads(repo);
    events.length = 0;

    const outcome = await app.services.inventory.vulndb.sync('inv');
    expect(outcome.after).not.toBe(outcome.before);
    expect(outcome.rematch).toMatchObject({ rematched: 1, changed: 1, missing: [] });

    const stored = await new RedisScanResultStore(app.redis, app.config.redis.prefix).get('inv', img.digest);
    expect(stored?.dbVersion).toBe(outcome.after);
    expect(stored?.findings).toContainEqual(expect.objectContaining({
      id: ADVISORY, aliases: ['CVE-2021-23337'], package: 'lodash', ecosystem: 'npm', installedVersion: '4.17.20', fixedVersion: '4.17.21', layer: img.layers[1]!.digest,
    }));
    const updated = events.filter((e) => e.type === 'findings.updated');
    expect(updated).toHaveLength(1);
    expect(updated[0]!.details).toMatchObject({ team: 'payments', repository: `${svc.upstream.host}/${repo}`, digest: img.digest, scanner: 'inv' });

    // No registry traffic at all during the re-match: no blob read, no request of any kind.
    expect(registryBlobReads(registry, repo)).toBe(blobReadsBefore);
    expect(registryAccessLines(registry)).toBe(linesBefore);
    expect(proxyBlobReads(repo)).toBe(proxyBefore);
    // The logs are live: the scan before did read blobs through both (so a zero would be meaningful).
    expect(blobReadsBefore).toBeGreaterThan(0);
    expect(proxyBefore).toBeGreaterThan(0);
  });

  it('a second sync of unchanged data re-matches nothing and publishes nothing', async () => {
    events.length = 0;
    const outcome = await app.services.inventory.vulndb.sync('inv');
    expect(outcome.after).toBe(outcome.before);
    expect(outcome.rematch).toBeUndefined();
    expect(events.filter((e) => e.type === 'findings.updated')).toEqual([]);
  });

  it('GET /v1/scanners shows the data version, the last sync and its age', async () => {
    const res = await app.call('auditor', 'GET', '/v1/scanners');
    expect(res.status).toBe(200);
    const inv = res.body.items.find((s: { name: string }) => s.name === 'inv');
    expect(inv).toMatchObject({ type: 'builtin', sync: { scheduled: true, every: '6h', status: 'ok' } });
    expect(inv.dbVersion).toMatch(/^osv-3-/);
    expect(inv.ageSeconds).toBeGreaterThanOrEqual(0);
    expect((await app.call(null, 'GET', '/v1/scanners')).status).toBe(401);
  });
});
