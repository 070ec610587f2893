import { capture } from '../../harness/capture';
import { buildImage, buildIndex, pushIndex } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { run as copy } from '../../../src/cli/copy';
import { run as inspect } from '../../../src/cli/inspect';
import { skopeoDigest } from './helpers';

const svc = services();


describe('portcullis copy / inspect', () => {
  test('copies an index between registries given as host:port (plain HTTP with --*-insecure) and prints the digest', async () => {
    const repo = uniqueName('cli');
    const images = await Promise.all(['amd64', 'arm64'].map((architecture) => buildImage({ architecture, layers: [{ files: { a: architecture } }] })));
    const idx = buildIndex(images, 'docker');
    await pushIndex(svc.upstream.url, repo, 'v1', idx);
    const dstRepo = uniqueName('cli-dst');
    const all = await capture(() => copy([`${svc.upstream.host}/${repo}:v1`, `${svc.internal.host}/${dstRepo}:v1`, '--src-insecure', '--dest-insecure', '--jobs', '2']));
    expect(all).toMatchObject({ code: 0, out: `${idx.digest}\n` });
    expect(await skopeoDigest(svc.internal.host, `${dstRepo}:v1`)).toBe(idx.digest);

    const one = await capture(() => copy([`${svc.upstream.host}/${repo}:v1`, `${svc.internal.host}/${dstRepo}:arm`, '--src-insecure', '--dest-insecure', '--platform', 'linux/arm64']));
    expect(one.out).toBe(`${images[1].digest}\n`);

    const shown = await capture(() => inspect([`${svc.internal.host}/${dstRepo}:v1`, '--insecure', '--json']));
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.out)).toMatchObject({
      digest: idx.digest, mediaType: idx.mediaType, size: idx.manifest.length,
      platforms: [{ platform: 'linux/amd64', digest: images[0].digest }, { platform: 'linux/arm64', digest: images[1].digest }],
    });
  });

  test('usage errors exit with 2, bad references with INVALID_REFERENCE', async () => {
    expect((await capture(() => copy(['only-one']))).code).toBe(2);
    await expect(capture(() => copy(['docker.io/Upper/x', 'y']))).rejects.toMatchObject({ code: 'INVALID_REFERENCE' });
    await expect(capture(() => copy(['127.0.0.1:1/a', '127.0.0.1:1/b', '--jobs', '0']))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});
