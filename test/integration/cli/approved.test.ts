/**
 * `portcullis approved --list`, `revoke` and `unrevoke` as a user runs them (real processes)
 * against the service on the harness's real Redis and registries.
 */
import { randomBytes } from 'node:crypto';
import { startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { runTs } from '../../harness/worker-process';

async function cli(app: TestApp, who: Who, args: string[]): Promise<{ code: number | null; out: string }> {
  const p = runTs('src/cli.ts', args, { PORTCULLIS_URL: app.url, PORTCULLIS_TOKEN: tokenOf(who) });
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('portcullis approved --list / revoke / unrevoke', () => {
  const svc = services();
  let app: TestApp;
  let repo: string;
  let img: BuiltImage;
  let image: string;

  beforeAll(async () => {
    app = await startTestApp();
    repo = uniqueName('cli-ledger');
    img = await buildImage({ layers: [{ files: { 'etc/ledger.txt': randomBytes(64).toString('hex') } }] });
    await pushImage(svc.upstream.url, repo, '4.0', img);
    image = `${svc.upstream.host}/${repo}:4.0`;
    const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'cli ledger' });
    await app.waitForStatus(created.body.id, ['awaiting_approval']);
    await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, {});
    await app.waitForStatus(created.body.id, ['approved']);
  });
  afterAll(async () => { await app.stop(); });

  it('lists, revokes (the lookup stops, the digest is denied), and unrevokes', async () => {
    const list = await cli(app, 'ci', ['approved', '--list', '--team', 'payments']);
    expect(list.code).toBe(0);
    expect(list.out).toContain(`${svc.upstream.host}/${repo}@${img.digest}  tags=4.0  platforms=all`);

    expect((await cli(app, 'ci', ['approved', image, '--team', 'payments'])).out.trim()).toMatch(new RegExp(`${repo}@${img.digest}$`));
    const tableOut = (await cli(app, 'ci', ['approved', '--list', '--team', 'payments', '--output', 'table'])).out;
    expect(tableOut).toMatch(/^IMAGE +DIGEST +TAGS +PLATFORMS +APPROVED +BY/m);
    expect(tableOut).toContain(img.digest);
    expect(JSON.parse((await cli(app, 'ci', ['approved', image, '--team', 'payments', '-o', 'json'])).out)).toMatchObject({ digest: img.digest });
    expect((await cli(app, 'ci', ['approved', image, '--team', 'payments', '--output', 'table'])).code).toBe(2);

    const denied = await cli(app, 'approver', ['revoke', image, '--team', 'payments', '--reason', 'backdoor']);
    expect(denied.code).toBe(1);
    expect(denied.out).toContain('FORBIDDEN');

    const revoked = await cli(app, 'admin', ['revoke', image, '--team', 'payments', '--reason', 'backdoor']);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toContain(`revoked ${svc.upstream.host}/${repo}@${img.digest} for team payments`);

    const gone = await cli(app, 'ci', ['approved', image, '--team', 'payments']);
    expect(gone.code).toBe(1);
    expect(gone.out).toContain('NOT_APPROVED');
    // Requesting a revoked digest answers REVOKED: the hint names the way out, not "request it".
    expect(gone.out).toContain(`portcullis unrevoke --digest ${img.digest}`);
    expect(gone.out).not.toContain('request it');
    expect((await cli(app, 'ci', ['approved', '--list', '--team', 'payments'])).out).not.toContain(img.digest);

    const again = await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${img.digest}`, team: 'payments', justification: 'again' });
    expect(again.body.error.code).toBe('REVOKED');

    const lifted = await cli(app, 'admin', ['unrevoke', '--digest', img.digest, '--image', `${svc.upstream.host}/${repo}`, '--team', 'payments', '--reason', 'vendor fixed']);
    expect(lifted.code).toBe(0);
    expect(lifted.out).toContain('revoked by admin');
    expect(lifted.out).toContain('backdoor');
    expect((await app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${repo}@${img.digest}`, team: 'payments', justification: 'cleared' })).status).toBe(202);
  });

  it('answers bad usage with exit 2 and the usage line', async () => {
    const r = await cli(app, 'admin', ['revoke', image, '--team', 'payments']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('usage: portcullis revoke');
    const u = await cli(app, 'admin', ['unrevoke', '--team', 'payments', '--reason', 'x']);
    expect(u.code).toBe(2);
    expect(u.out).toContain('usage: portcullis unrevoke');
    expect((await cli(app, 'ci', ['approved', '--list', image, '--team', 'payments'])).code).toBe(2);
  });
});
