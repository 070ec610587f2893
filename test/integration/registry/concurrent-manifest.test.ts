/**
 * docker-registry checks that the children of an index it is sent exist by reading their link
 * files, and its filesystem storage rewrites a link file in place (truncate, then write) each
 * time anyone pushes that child again. A check that lands mid-rewrite reads an empty link and the
 * PUT fails with "DIGEST_INVALID; MANIFEST_BLOB_UNKNOWN": it happened under load when two stages
 * of one image ran at once (the hostile-index test, 20,000 listings: 20,000 link reads per check),
 * and can whenever two requests (two teams) stage the same image into one quarantine repository.
 * The client calls such an answer temporary (the copy engine retries it) when the bytes sent do
 * hash to the digest they are PUT under; a DIGEST_INVALID about the bytes themselves stays final.
 *
 * The mid-rewrite state is made deterministically on the real registry: the child's link file
 * is emptied on disk, as the rewrite leaves it for an instant.
 */
import { truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildImage, buildIndex, pushImage, pushIndex } from '../../harness/images';
import { startRegistry, type RegistryService } from '../../harness/registry';
import { uniqueName } from '../../harness/services';
import { DistributionClient } from '../../../src/registry/client';
import { RegistryError } from '../../../src/registry/errors';

describe('a manifest PUT meeting a concurrent rewrite of a child\'s link', () => {
  let registry: RegistryService;
  beforeAll(async () => { registry = await startRegistry({ name: 'concurrent-manifest-registry' }); });
  afterAll(async () => { await registry.stop(); });

  it('is a temporary error (retried) when the bytes match their digest, a final one when they do not', async () => {
    const repo = uniqueName('link-rewrite');
    const img = await buildImage({ layers: [{ files: { 'etc/motd': 'link rewrite\n' } }], config: { User: '1000' } });
    const idx = buildIndex([img]);
    await pushImage(registry.url, repo, undefined, img);
    await pushIndex(registry.url, repo, '1.0', idx);
    const client = new DistributionClient({ url: registry.url });
    const link = path.join(registry.storageDir, 'docker/registry/v2/repositories', repo, '_manifests/revisions/sha256', img.digest.split(':')[1], 'link');

    truncateSync(link, 0);
    const err = await client.putManifest(repo, idx.digest, idx.manifest, idx.mediaType).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).hasCode('DIGEST_INVALID')).toBe(true);
    expect((err as RegistryError).code).toBe('DIGEST_MISMATCH');
    expect((err as RegistryError).temporary).toBe(true);

    // Under a tag the registry digests the bytes itself: the same answer is about its storage too.
    const byTag = await client.putManifest(repo, '2.0', idx.manifest, idx.mediaType).then(() => null, (e: unknown) => e);
    expect((byTag as RegistryError).temporary).toBe(true);

    // The other writer's rewrite ends: the retry goes through.
    writeFileSync(link, img.digest);
    expect(await client.putManifest(repo, idx.digest, idx.manifest, idx.mediaType)).toBe(idx.digest);

    // Bytes that do not hash to the digest they are PUT under: final, whatever the storage does.
    const wrong = await client.putManifest(repo, img.digest, idx.manifest, idx.mediaType).then(() => null, (e: unknown) => e);
    expect((wrong as RegistryError).hasCode('DIGEST_INVALID')).toBe(true);
    expect((wrong as RegistryError).temporary).toBe(false);
  });
});
