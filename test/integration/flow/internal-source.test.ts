/**
 * The internal registry is never a source: a request naming it, by tag or pinned by digest,
 * is refused at once with 400 UPSTREAM_NOT_ALLOWED (it is not an allowed upstream; even when
 * listed, the pipeline refuses it) and nothing is copied into quarantine. Before the fix a
 * digest-pinned request skipped resolution (where the allow-list lived) and the copy engine
 * read the internal registry with the service's own credentials.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('a request naming the internal registry', () => {
  const svc = services();
  let app: TestApp;
  let repo: string;
  let img: BuiltImage;

  beforeAll(async () => {
    app = await startTestApp();
    // Another team's approved image, as promotion would have left it.
    repo = `approved/otherteam/${uniqueName('secret')}`;
    img = await buildImage({ layers: [{ files: { 'secret.txt': `${repo}\n` } }] });
    await pushImage(svc.internal.url, repo, '1.0', img);
  });
  afterAll(async () => { await app.stop(); });

  const quarantined = async (): Promise<number> => {
    const res = await fetch(`${svc.internal.url}/v2/quarantine/${svc.internal.host.replace(':', '_')}/${repo}/manifests/${img.digest}`, { method: 'HEAD', headers: { accept: img.mediaType } });
    return res.status;
  };

  it.each([
    ['tag', () => `${svc.internal.host}/${repo}:1.0`],
    ['digest', () => `${svc.internal.host}/${repo}@${img.digest}`],
  ])('refuses by %s with UPSTREAM_NOT_ALLOWED and copies nothing', async (_form, image) => {
    const created = await app.call('dev', 'POST', '/v1/requests', { image: image(), team: 'payments', justification: 'not mine' });
    expect(created.status).toBe(400);
    expect(created.body.error.code).toBe('UPSTREAM_NOT_ALLOWED');
    expect((await app.call('dev', 'GET', '/v1/requests?team=payments')).body.items).toEqual([]);
    expect(await quarantined()).toBe(404);
  });
});
