/**
 * What reading one image's manifests may cost: at most MAX_LAYERS_PER_MANIFEST layers in one
 * manifest, and, for the root and all its children together, MAX_IMAGE_MANIFEST_BYTES bytes and
 * MAX_IMAGE_LAYER_DESCRIPTORS layer descriptors. Over a bound, staging's plan fails with
 * MANIFEST_TOO_LARGE and stops reading children (an index of 1024 children near 4 MiB each took
 * ~5.6 GiB of heap).
 */
import { AppError } from '../../../src/lib/errors';
import { planCopy, type Fetch } from '../../../src/registry/copy-plan';
import { MAX_LAYERS_PER_MANIFEST, MAX_MANIFEST_SIZE, parseManifest } from '../../../src/registry/manifest';
import { ManifestBudget, MAX_IMAGE_LAYER_DESCRIPTORS, MAX_IMAGE_MANIFEST_BYTES } from '../../../src/registry/manifest-budget';
import { imageManifest, indexOf } from './fake-manifests';

const direct: Fetch = (_what, fn) => fn();

describe('layers per manifest', () => {
  test(`${MAX_LAYERS_PER_MANIFEST} layers parse; one more is MANIFEST_TOO_LARGE`, () => {
    expect(parseManifest(imageManifest('a', MAX_LAYERS_PER_MANIFEST), undefined)).toMatchObject({ kind: 'image', layers: { length: MAX_LAYERS_PER_MANIFEST } });
    expect(() => parseManifest(imageManifest('a', MAX_LAYERS_PER_MANIFEST + 1), undefined, 'manifest m')).toThrow(
      expect.objectContaining({ code: 'MANIFEST_TOO_LARGE', message: `manifest m: ${MAX_LAYERS_PER_MANIFEST + 1} layers, over the cap of ${MAX_LAYERS_PER_MANIFEST}` }),
    );
  });
});

describe('ManifestBudget', () => {
  const image = (layers: number) => ({ kind: 'image' as const, mediaType: 'x', config: { mediaType: 'c', digest: 'd', size: 1 }, layers: Array(layers).fill({ mediaType: 'l', digest: 'd', size: 1 }) });

  test('bytes: up to the bound in total pass, one byte more fails, not temporary', () => {
    const budget = new ManifestBudget('r@i', { maxBytes: 100 });
    budget.readBytes('a', 60);
    budget.readBytes('b', 40);
    let err: unknown;
    try { budget.readBytes('c', 1); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'MANIFEST_TOO_LARGE', temporary: false, message: 'r@i: its manifests exceed 100 bytes in total (at c)' });
  });

  test('layers: image manifests are counted together; an index costs none', () => {
    const budget = new ManifestBudget('r@i', { maxLayers: 10 });
    budget.keptLayers('a', image(6));
    budget.keptLayers('i', { kind: 'index', mediaType: 'x', manifests: Array(50).fill({ mediaType: 'm', digest: 'd', size: 1 }) });
    budget.keptLayers('b', image(4));
    expect(() => budget.keptLayers('c', image(1))).toThrow(expect.objectContaining({ code: 'MANIFEST_TOO_LARGE', message: 'r@i: its manifests list more than 10 layers in total (at c)' }));
  });

  test('the defaults are 64 MiB and 100,000 descriptors', () => {
    expect([MAX_IMAGE_MANIFEST_BYTES, MAX_IMAGE_LAYER_DESCRIPTORS]).toEqual([64 * 1024 * 1024, 100_000]);
  });
});

describe('planCopy of an index', () => {
  const layersPerChild = MAX_LAYERS_PER_MANIFEST;
  const childrenAtBound = MAX_IMAGE_LAYER_DESCRIPTORS / layersPerChild;

  test.each([undefined, 'fail', 'drop'] as const)('layer descriptors over the image bound: MANIFEST_TOO_LARGE, no child read past it (unscannableChildren %s)', async (mode) => {
    const reg = indexOf(Array.from({ length: childrenAtBound + 5 }, (_, i) => imageManifest(`c${i}`, layersPerChild)));
    await expect(planCopy(reg.client, 'r', reg.index, mode ? { unscannableChildren: mode } : {}, direct)).rejects.toMatchObject({
      code: 'MANIFEST_TOO_LARGE', message: expect.stringContaining(`more than ${MAX_IMAGE_LAYER_DESCRIPTORS} layers in total`),
    });
    // Judging reads every child before any is planned; the bytes budget bounds that, and
    // these children are small, so only without judging does the plan stop at the bound.
    if (!mode) expect(reg.reads.length).toBe(1 + childrenAtBound + 1);
  });

  test('as many layer descriptors as the bound allows are planned', async () => {
    const reg = indexOf(Array.from({ length: childrenAtBound }, (_, i) => imageManifest(`c${i}`, layersPerChild)));
    const plan = await planCopy(reg.client, 'r', reg.index, { unscannableChildren: 'fail' }, direct);
    expect(plan.manifests).toHaveLength(childrenAtBound + 1);
  });

  test('manifest bytes over the image bound: MANIFEST_TOO_LARGE at the child that crosses it, the rest unread', async () => {
    const near = MAX_MANIFEST_SIZE - 1024;
    const fit = Math.floor(MAX_IMAGE_MANIFEST_BYTES / near) - 1; // the index itself takes some bytes too
    const reg = indexOf(Array.from({ length: fit + 10 }, (_, i) => imageManifest(`c${i}`, 1, near)));
    await expect(planCopy(reg.client, 'r', reg.index, { unscannableChildren: 'fail' }, direct)).rejects.toMatchObject({
      code: 'MANIFEST_TOO_LARGE', message: expect.stringContaining(`exceed ${MAX_IMAGE_MANIFEST_BYTES} bytes in total`),
    });
    expect(reg.reads.length).toBeLessThanOrEqual(1 + fit + 2);
  });
});
