/**
 * imagesToScan charges every manifest it reads for one image to the same budget as staging
 * (src/registry/manifest-budget.ts): an index whose children together exceed the manifest bytes
 * or layer descriptors an image may have fails with MANIFEST_TOO_LARGE and reads no further child.
 */
import { MAX_LAYERS_PER_MANIFEST, MAX_MANIFEST_SIZE } from '../../../src/registry/manifest';
import { MAX_IMAGE_LAYER_DESCRIPTORS, MAX_IMAGE_MANIFEST_BYTES } from '../../../src/registry/manifest-budget';
import { imagesToScan } from '../../../src/scanners/image-children';
import { imageManifest, indexOf } from '../registry/fake-manifests';

const target = (reg: ReturnType<typeof indexOf>) => ({ registry: reg.client, repository: 'r', digest: reg.index, registryUrl: reg.client.url });
const childrenAtBound = MAX_IMAGE_LAYER_DESCRIPTORS / MAX_LAYERS_PER_MANIFEST;

describe('imagesToScan of an index', () => {
  test('as many layer descriptors as the bound allows are scanned', async () => {
    const reg = indexOf(Array.from({ length: childrenAtBound }, (_, i) => imageManifest(`c${i}`, MAX_LAYERS_PER_MANIFEST)));
    expect(await imagesToScan(target(reg))).toHaveLength(childrenAtBound);
  });

  test('one child more: MANIFEST_TOO_LARGE at that child, no further child read', async () => {
    const reg = indexOf(Array.from({ length: childrenAtBound + 5 }, (_, i) => imageManifest(`c${i}`, MAX_LAYERS_PER_MANIFEST)));
    await expect(imagesToScan(target(reg))).rejects.toMatchObject({
      code: 'MANIFEST_TOO_LARGE', message: expect.stringContaining(`more than ${MAX_IMAGE_LAYER_DESCRIPTORS} layers in total`),
    });
    expect(reg.reads).toHaveLength(1 + childrenAtBound + 1);
  });

  test('manifest bytes over the image bound: MANIFEST_TOO_LARGE, the rest unread', async () => {
    const near = MAX_MANIFEST_SIZE - 1024;
    const fit = Math.floor(MAX_IMAGE_MANIFEST_BYTES / near) - 1;
    const reg = indexOf(Array.from({ length: fit + 10 }, (_, i) => imageManifest(`c${i}`, 1, near)));
    await expect(imagesToScan(target(reg))).rejects.toMatchObject({
      code: 'MANIFEST_TOO_LARGE', message: expect.stringContaining(`exceed ${MAX_IMAGE_MANIFEST_BYTES} bytes in total`),
    });
    expect(reg.reads.length).toBeLessThanOrEqual(1 + fit + 2);
  });

  test('a child listing more layers than one manifest may is refused by its bytes (UNSCANNABLE_CHILD saying why), not scanned', async () => {
    const reg = indexOf([imageManifest('big', MAX_LAYERS_PER_MANIFEST + 1)]);
    await expect(imagesToScan(target(reg))).rejects.toMatchObject({
      code: 'UNSCANNABLE_CHILD', message: expect.stringContaining(`${MAX_LAYERS_PER_MANIFEST + 1} layers, over the cap of ${MAX_LAYERS_PER_MANIFEST}`),
    });
  });
});
