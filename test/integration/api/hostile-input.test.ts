/**
 * Smaller holes of the security run (issue 8.6), each on the real service: unregistered digest
 * algorithms, corrupt compressed bodies, registry hosts in capitals.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { startTestApp, tokenOf, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('hostile input to the v1 API', () => {
  const svc = services();
  let app: TestApp;
  let repo: string;

  beforeAll(async () => {
    // `demo.local` names the harness upstream (through nginx), so a host with letters can be written in capitals.
    app = await startTestApp({ config: { upstreams: [{ registry: svc.upstream.host, endpoint: svc.proxy.url }, { registry: 'demo.local', endpoint: svc.proxy.url }] } });
    repo = uniqueName('hostile');
    await pushImage(svc.upstream.url, repo, 'v1', await buildImage({ layers: [{ files: { f: 'hostile' } }] }));
  });
  afterAll(async () => { await app.stop(); });

  async function postRaw(body: Buffer, encoding: string): Promise<{ status: number; body: { error?: { code: string; message: string }; id?: string } }> {
    const res = await fetch(`${app.url}/v1/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf('dev')}`, 'content-type': 'application/json', 'content-encoding': encoding },
      body,
    });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; id?: string } };
  }

  it.each([
    ['md5', 'a'.repeat(32)],
    ['foo', 'a'.repeat(64)],
    ['sha384', 'a'.repeat(96)],
  ])('refuses an image@%s:… digest with 400 INVALID_REFERENCE before anything is queued', async (algorithm, hex) => {
    const res = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${algorithm}:${hex}`, team: 'payments', justification: 'x' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REFERENCE');
    expect(res.body.error.message).toContain(`"${algorithm}"`);
  });

  it.each(['deflate', 'br', 'gzip'])('answers a corrupt %s body with 400, not 500', async (encoding) => {
    const res = await postRaw(Buffer.from('this is not compressed data at all, just bytes \x00\xff\x13'), encoding);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('INVALID_REQUEST');
    expect(res.body.error?.message).toContain(encoding);
  });

  it.each([
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['gzip', gzipSync],
  ] as const)('still reads a well-formed %s body', async (encoding, compress) => {
    const body = compress(Buffer.from(JSON.stringify({ image: `${svc.upstream.host}/${repo}:v1`, team: 'payments', justification: encoding })));
    const res = await postRaw(body, encoding);
    expect(res.status).toBe(202);
  });

  it('takes a registry host in capitals for the same registry (Docker normalises hosts to lower case)', async () => {
    // An image of its own: the requests above share theirs, and this one must run its own pipeline.
    const own = uniqueName('hostile-case');
    await pushImage(svc.upstream.url, own, 'v1', await buildImage({ layers: [{ files: { g: own } }] }));
    const upper = await app.call('dev', 'POST', '/v1/requests', { image: `DEMO.Local/${own}:v1`, team: 'payments', justification: 'upper' });
    expect(upper.status).toBe(202);
    expect(upper.body.image).toBe(`demo.local/${own}:v1`);
    const done = await app.waitForStatus(upper.body.id, ['awaiting_approval', 'failed']);
    expect(done.status).toBe('awaiting_approval');
    const lower = await app.call('dev', 'POST', '/v1/requests', { image: `demo.local/${own}:v1`, team: 'payments', justification: 'lower' });
    expect(lower.body.id).toBe(upper.body.id);
  });
});
