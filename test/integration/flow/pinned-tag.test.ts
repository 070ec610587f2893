/**
 * A `tag@digest` request through the API, on the real upstream (through the reverse proxy) and
 * internal registries: its tag is recorded (the team's tag index, the approved repository's
 * tag) only when upstream confirms that the tag names its digest. A request naming the team's
 * approved tag with an older digest is approved as a request by digest and leaves the tag, for
 * CI and in the approved repository, on the digest it names.
 */
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

describe('a tag@digest request', () => {
  const svc = services();
  let app: TestApp;
  let repo: string;
  let older: BuiltImage;
  let current: BuiltImage;

  beforeAll(async () => {
    app = await startTestApp();
    repo = `${svc.upstream.host}/${uniqueName('pinned')}`;
    older = await buildImage({ layers: [{ files: { 'v.txt': `${repo} 1.19\n` } }] });
    current = await buildImage({ layers: [{ files: { 'v.txt': `${repo} 1.25\n` } }] });
    const path = repo.slice(repo.indexOf('/') + 1);
    await pushImage(svc.upstream.url, path, '1.19', older);
    await pushImage(svc.upstream.url, path, '1.25', current);
  });
  afterAll(async () => { await app.stop(); });

  async function approveImage(image: string): Promise<any> {
    const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'j' });
    expect(created.status).toBe(202);
    const waiting = await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed']);
    expect(waiting.status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, { comment: 'ok' })).status).toBe(202);
    return app.waitForStatus(created.body.id, ['approved', 'failed']);
  }
  const lookup = (image: string) => app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(image)}&team=payments`);
  /** The digest a tag of the approved repository names in the internal registry. */
  const internalTag = async (internalRef: string, tag: string): Promise<string | null> => {
    const repository = internalRef.slice(internalRef.indexOf('/') + 1, internalRef.indexOf('@'));
    const res = await fetch(`${svc.internal.url}/v2/${repository}/manifests/${tag}`, { method: 'HEAD', headers: { accept: older.mediaType } });
    return res.ok ? res.headers.get('docker-content-digest') : null;
  };

  it('naming the approved tag with an older digest is approved by digest, and moves neither the team\'s tag nor the approved repository\'s', async () => {
    const tagged = await approveImage(`${repo}:1.25`);
    expect(tagged.status).toBe('approved');
    expect((await lookup(`${repo}:1.25`)).body.digest).toBe(current.digest);

    const pinned = await approveImage(`${repo}:1.25@${older.digest}`);
    expect(pinned.status).toBe('approved');
    // CI finds it by its digest, and the tag still answers the digest upstream gives it.
    expect((await lookup(`${repo}@${older.digest}`)).body.internalRef).toBe(pinned.internalRef);
    expect((await lookup(`${repo}:1.25`)).body.digest).toBe(current.digest);
    expect(await internalTag(tagged.internalRef, '1.25')).toBe(current.digest);
    expect(await internalTag(pinned.internalRef, `digest-${older.digest.slice('sha256:'.length)}`)).toBe(older.digest);
    // Recorded as a request by digest, and its history says why.
    expect(pinned.source.tag).toBeUndefined();
    expect(pinned.history.map((h: { note?: string }) => h.note).join('\n')).toContain(`tag 1.25 not recorded: upstream it names ${current.digest}, not ${older.digest}`);
  });

  it('whose tag names its digest upstream (asked through the reverse proxy) records the tag, as a tag request does', async () => {
    const stable = await buildImage({ layers: [{ files: { 'v.txt': `${repo} stable\n` } }] });
    await pushImage(svc.upstream.url, repo.slice(repo.indexOf('/') + 1), 'stable', stable);
    const pinned = await approveImage(`${repo}:stable@${stable.digest}`);
    expect(pinned.status).toBe('approved');
    expect(pinned.source.tag).toBe('stable');
    expect(pinned.history.map((h: { note?: string }) => h.note).join('\n')).toContain('tag stable names it upstream');
    expect((await lookup(`${repo}:stable`)).body.digest).toBe(stable.digest);
    expect(await internalTag(pinned.internalRef, 'stable')).toBe(stable.digest);
  });
});
