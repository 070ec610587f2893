/**
 * The engine mover against a real Podman service (Docker-compatible API) and the harness's
 * real registries: images are pushed to the `upstream` registry with the harness helpers,
 * pulled by the engine through the nginx reverse proxy, and pushed into `internal`.
 * One Podman service per file: it starts in well under a second.
 */
import { tagsOf } from '../../harness/tags';
import { readFileSync } from 'node:fs';
import Dockerode from 'dockerode';
import { AppError } from '../../../src/lib/errors';
import { DistributionClient } from '../../../src/registry/client';
import { EngineMover } from '../../../src/registry/movers/engine';
import { parseReference, type ImageRef } from '../../../src/registry/reference';
import { RegistryMover } from '../../../src/registry/registry-mover';
import { MediaTypes } from '../../../src/registry/types';
import { buildImage, buildIndex, pushImage, pushIndex } from '../../harness/images';
import { startPodman, type PodmanService } from '../../harness/podman';
import { services, uniqueName } from '../../harness/services';

const svc = services();
const ACCEPT = [MediaTypes.ociManifest, MediaTypes.ociIndex, MediaTypes.dockerManifest, MediaTypes.dockerManifestList].join(', ');

/** The mover verifies with the real Distribution client; the assertions below use plain fetch. */
const clients = new Map<string, DistributionClient>();
function destination(registry: string): DistributionClient {
  const url = { [svc.internal.host]: svc.internal.url, [svc.proxy.host]: svc.proxy.url }[registry];
  if (!url) throw new Error(`no harness registry ${registry}`);
  if (!clients.has(registry)) clients.set(registry, new DistributionClient({ url }));
  return clients.get(registry) as DistributionClient;
}

/** The byte-for-byte copier out of staging, on the same harness clients. */
const copier = new RegistryMover({ clientFor: (ref: ImageRef | string) => destination(typeof ref === 'string' ? parseReference(ref).registry : ref.registry) });


async function served(repo: string, ref: string): Promise<{ digest: string | null; manifest: { config: { digest: string }; layers: Array<{ digest: string }> } }> {
  const res = await fetch(`${svc.internal.url}/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT } });
  expect(res.status).toBe(200);
  return { digest: res.headers.get('docker-content-digest'), manifest: await res.json() as never };
}

describe('EngineMover (dockerode → podman system service)', () => {
  let podman: PodmanService;
  let docker: Dockerode;
  let mover: EngineMover;
  const password = `s3cret-${uniqueName('pw')}`;

  beforeAll(async () => {
    podman = await startPodman({ insecureRegistries: [svc.proxy.host, svc.internal.host] });
    docker = new Dockerode({ socketPath: podman.socketPath });
    mover = new EngineMover({
      docker,
      destination,
      copier,
      // Neither harness registry checks credentials; they are sent all the same (X-Registry-Auth),
      // so that the error tests can show a password never reaches a message.
      credentials: () => ({ username: 'portcullis', password }),
    });
  });
  afterAll(async () => { await podman?.stop(); });

  /** The copy must leave the engine as it found it: this file's service starts empty. */
  async function expectEngineEmpty(): Promise<void> {
    expect(await docker.listImages({ all: true })).toEqual([]);
  }

  it('pulls through the proxy, pushes, and returns the digest the destination serves', async () => {
    const repo = uniqueName('engine-oci');
    const img = await buildImage({ layers: [{ files: { 'etc/motd': 'hello\n' } }, { files: { 'app/data.txt': 'x'.repeat(4096) } }] });
    await pushImage(svc.upstream.url, repo, 'v1', img);

    const result = await mover.copy(parseReference(`${svc.proxy.host}/${repo}:v1`), parseReference(`${svc.internal.host}/${repo}:v1`));

    const dst = await served(repo, 'v1');
    expect(result.digest).toBe(dst.digest);
    expect(result.sourceDigest).toBe(img.digest);
    expect(result.platforms).toEqual([{ sourceDigest: img.digest, digest: result.digest }]);
    // Observed with Podman 4.3: layers are recompressed on push, so the manifest digest changes;
    // the config blob (and with it the diff_ids, i.e. the uncompressed content) is kept.
    expect(result.digest).not.toBe(img.digest);
    expect(result.mapping).toEqual({ [img.digest]: result.digest });
    expect(dst.manifest.config.digest).toBe(img.config.digest);
    expect(dst.manifest.layers.map((l) => l.digest)).not.toEqual(img.layers.map((l) => l.digest));
    expect(result.mediaType).toBe(MediaTypes.ociManifest);
    // The engine reached the upstream through nginx only.
    expect(readFileSync(svc.proxy.accessLog, 'utf8')).toContain(`GET /v2/${repo}/manifests/v1 200`);
    // Nothing left behind in the engine.
    await expectEngineEmpty();
  });

  it('pins a source digest, and leaves a tagless (quarantine) destination without any tag', async () => {
    const repo = uniqueName('engine-docker');
    const img = await buildImage({ format: 'docker', layers: [{ files: { 'bin/tool': 'echo hi\n' } }] });
    await pushImage(svc.upstream.url, repo, 'latest', img);
    const stagingPrefix = `staging-${repo}`;
    const quarantine = new EngineMover({ docker, destination, copier, stagingPrefix });
    const dstRef = { registry: svc.internal.host, repository: `quarantine/${repo}` };

    const result = await quarantine.copy(parseReference(`${svc.proxy.host}/${repo}@${img.digest}`), dstRef);

    expect(result.sourceDigest).toBe(img.digest);
    expect(result.digest).not.toBe(img.digest);
    // The quarantine repository holds the pushed image by digest, and no tag at all.
    expect(await tagsOf(svc.internal.url, `quarantine/${repo}`)).toEqual([]);
    const dst = await served(`quarantine/${repo}`, result.digest);
    expect(dst.digest).toBe(result.digest);
    expect(dst.manifest.config.digest).toBe(img.config.digest);
    // The engine pushed into one fresh staging repository, whose manifest (and tag) is gone again.
    // The registry is shared by all tests: list only the names sorting after this test's prefix.
    const catalog = (await (await fetch(`${svc.internal.url}/v2/_catalog?n=100&last=${stagingPrefix}`)).json()) as { repositories: string[] };
    const staging = catalog.repositories.filter((r) => r.startsWith(`${stagingPrefix}/`));
    expect(staging).toHaveLength(1);
    expect(staging[0]).toMatch(new RegExp(`^${stagingPrefix}/[0-9a-f]{12}$`));
    expect(await tagsOf(svc.internal.url, staging[0])).toEqual([]);
    expect((await fetch(`${svc.internal.url}/v2/${staging[0]}/manifests/${result.digest}`, { method: 'HEAD', headers: { accept: ACCEPT } })).status).toBe(404);
    await expectEngineEmpty();
  });

  it('relies on staging because docker-registry cannot delete a tag (OCI: tag deletes are optional)', async () => {
    // Why the engine mover stages instead of untagging quarantine: DELETE by tag answers UNSUPPORTED.
    const repo = uniqueName('engine-untag');
    const img = await buildImage({ layers: [{ files: { f: 'untag' } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    const res = await fetch(`${svc.internal.url}/v2/${repo}/manifests/v1`, { method: 'DELETE' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    // distribution >= 3 answers UNSUPPORTED; 2.x (Debian's docker-registry) DIGEST_INVALID. Either way the tag stays.
    expect(['UNSUPPORTED', 'DIGEST_INVALID']).toContain(((await res.json()) as { errors: Array<{ code: string }> }).errors[0].code);
    expect(await tagsOf(svc.internal.url, repo)).toEqual(['v1']);
  });

  it('refuses a copier that does not preserve digests', () => {
    expect(() => new EngineMover({ docker, destination, copier: mover })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('takes one platform out of an index', async () => {
    const repo = uniqueName('engine-index');
    const amd = await buildImage({ layers: [{ files: { arch: 'amd64' } }], architecture: 'amd64' });
    const arm = await buildImage({ layers: [{ files: { arch: 'arm64' } }], architecture: 'arm64' });
    const idx = buildIndex([amd, arm]);
    await pushIndex(svc.upstream.url, repo, 'multi', idx);

    const result = await mover.copy(parseReference(`${svc.proxy.host}/${repo}:multi`), parseReference(`${svc.internal.host}/${repo}:arm`),
      { platforms: ['linux/arm64'] });

    const dst = await served(repo, 'arm');
    expect(result.digest).toBe(dst.digest);
    expect(dst.manifest.config.digest).toBe(arm.config.digest);
    expect(result.mediaType).not.toBe(MediaTypes.ociIndex);
  });

  it('fails with DIGEST_MISMATCH when the destination does not serve what the engine reported', async () => {
    const repo = uniqueName('engine-mismatch');
    const img = await buildImage({ layers: [{ files: { f: 'mismatch' } }] });
    await pushImage(svc.upstream.url, repo, 'v1', img);
    // A destination that answers with another digest: a registry (or proxy) not telling the truth.
    const lying = new EngineMover({
      docker,
      destination: () => ({
        headManifest: async () => ({ digest: img.digest, mediaType: img.mediaType, size: img.manifest.length }),
        deleteManifest: async () => undefined,
      }),
      copier,
    });
    await expect(lying.copy(parseReference(`${svc.proxy.host}/${repo}:v1`), parseReference(`${svc.internal.host}/${repo}:v1`)))
      .rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expectEngineEmpty();
  });

  it('refuses what an engine cannot do: several platforms, or a new index', async () => {
    const src = parseReference(`${svc.proxy.host}/any:v1`);
    const dst = parseReference(`${svc.internal.host}/any:v1`);
    await expect(mover.copy(src, dst, { platforms: ['linux/amd64', 'linux/arm64'] })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(mover.copy(src, dst, { platforms: ['linux/amd64'], writeIndex: true })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('fails a pull of a missing image with REGISTRY_ERROR, a clear message and no credentials', async () => {
    const repo = uniqueName('engine-missing');
    const err = await mover.copy(parseReference(`${svc.proxy.host}/${repo}:nope`), parseReference(`${svc.internal.host}/${repo}:nope`))
      .then(() => undefined, (e: unknown) => e);

    expect(err).toBeInstanceOf(AppError);
    const appErr = err as AppError;
    expect(appErr.code).toBe('REGISTRY_ERROR');
    expect(appErr.message).toContain(`engine pull of ${svc.proxy.host}/${repo}:nope`);
    expect(appErr.message).toMatch(/manifest unknown/);
    expect(appErr.temporary).toBe(false);
    expect(JSON.stringify({ m: appErr.message, c: String((appErr as { cause?: unknown }).cause) })).not.toContain(password);
    // Nothing was tagged or pushed at the destination.
    expect((await fetch(`${svc.internal.url}/v2/${repo}/tags/list`)).status).toBe(404);
  });

  it('reports an unreachable engine as DEPENDENCY_UNAVAILABLE (temporary)', async () => {
    const down = new EngineMover({
      docker: new Dockerode({ socketPath: `${podman.dir}/no-such.sock` }),
      destination,
      copier,
    });
    await expect(down.copy(parseReference(`${svc.proxy.host}/x:v1`), parseReference(`${svc.internal.host}/x:v1`)))
      .rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', temporary: true });
  });
});
