import { readFileSync } from 'node:fs';
import { buildImage, buildIndex, pushImage, pushIndex } from '../../harness/images';
import { waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';

describe('test harness services', () => {
  const svc = services();

  it('runs a real registry that stores what the image helpers push', async () => {
    const repo = uniqueName('harness');
    const img = await buildImage({ layers: [{ files: { 'etc/hello.txt': 'hello\n' } }] });
    await pushImage(svc.internal.url, repo, 'v1', img);
    const res = await fetch(`${svc.internal.url}/v2/${repo}/manifests/v1`, { headers: { accept: img.mediaType } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(img.digest);
    expect(Buffer.from(await res.arrayBuffer()).equals(img.manifest)).toBe(true);
  });

  it('reaches the upstream registry through nginx and logs every request', async () => {
    const repo = uniqueName('proxied');
    const a = await buildImage({ layers: [{ files: { a: 'a' } }], architecture: 'amd64' });
    const b = await buildImage({ layers: [{ files: { b: 'b' } }], architecture: 'arm64' });
    const idx = buildIndex([a, b]);
    await pushIndex(svc.upstream.url, repo, 'multi', idx);
    const res = await fetch(`${svc.proxy.url}/v2/${repo}/manifests/multi`, { headers: { accept: idx.mediaType } });
    expect(res.status).toBe(200);
    expect(res.headers.get('docker-content-digest')).toBe(idx.digest);
    await res.arrayBuffer();
    // nginx writes its access line once the response is done, which can be just after we read it.
    const line = `GET /v2/${repo}/manifests/multi 200`;
    await waitFor(async () => readFileSync(svc.proxy.accessLog, 'utf8').includes(line), 'the access log line', 5000).catch(() => undefined);
    expect(readFileSync(svc.proxy.accessLog, 'utf8')).toContain(line);
  });

  it('runs redis', async () => {
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(svc.redis.url);
    const key = uniqueName('k');
    await redis.set(key, 'v');
    expect(await redis.get(key)).toBe('v');
    await redis.del(key);
    redis.disconnect();
  });
});
