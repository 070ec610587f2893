/**
 * The people-facing CLI commands as a user runs them (real processes), against the service
 * started on the harness's real Redis, registries and nginx: request --wait, queue, approve
 * (four-eyes refused), approved for CI, and clear errors without a token.
 */
import { randomBytes } from 'node:crypto';
import { startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { buildImage, pushImage, type BuiltImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { runTs } from '../../harness/worker-process';

async function cli(app: TestApp, who: Who | null, args: string[]): Promise<{ code: number | null; out: string }> {
  const env: NodeJS.ProcessEnv = { PORTCULLIS_URL: app.url, PORTCULLIS_TOKEN: who ? tokenOf(who) : '' };
  const p = runTs('src/cli.ts', args, env);
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('portcullis request / queue / approve / approved', () => {
  const svc = services();
  let app: TestApp;
  let repo: string;
  let img: BuiltImage;

  beforeAll(async () => {
    app = await startTestApp();
    repo = uniqueName('cli');
    img = await buildImage({ layers: [{ files: { 'etc/cli.txt': randomBytes(64).toString('hex') } }] });
    await pushImage(svc.upstream.url, repo, '2.0', img);
  });
  afterAll(async () => { await app.stop(); });

  it('takes an image from request to the approved reference CI pulls', async () => {
    const image = `${svc.upstream.host}/${repo}:2.0`;
    const requested = await cli(app, 'dev', ['request', image, '--team', 'payments', '--justification', 'cli test', '--wait']);
    expect(requested.code).toBe(0);
    expect(requested.out).toMatch(/status:\s+awaiting_approval/);
    expect(requested.out).toContain(`digest:    ${img.digest}`);
    const id = /id:\s+(\S+)/.exec(requested.out)?.[1];
    expect(id).toBeDefined();

    const queue = await cli(app, 'approver', ['queue']);
    expect(queue.code).toBe(0);
    expect(queue.out).toContain(id);

    const own = await cli(app, 'dev', ['approve', id!, '--comment', 'mine']);
    expect(own.code).toBe(1);
    expect(own.out).toMatch(/FORBIDDEN|FOUR_EYES/);

    const approved = await cli(app, 'approver', ['approve', id!, '--comment', 'fine']);
    expect(approved.code).toBe(0);
    await app.waitForStatus(id!, ['approved']);

    const ref = await cli(app, 'ci', ['approved', image, '--team', 'payments']);
    expect(ref.code).toBe(0);
    expect(ref.out.trim()).toMatch(new RegExp(`/approved/payments/.*${repo}@${img.digest}$`));
  });

  it('fails clearly without a token, for an unknown image, and on bad usage', async () => {
    const noToken = await cli(app, null, ['status', 'x']);
    expect(noToken.code).toBe(2); // a missing setting, not a refusal by the server
    expect(noToken.out).toContain('PORTCULLIS_TOKEN');

    const none = await cli(app, 'ci', ['approved', `${svc.upstream.host}/${repo}:never`, '--team', 'payments']);
    expect(none.code).toBe(1);
    expect(none.out).toContain('NOT_APPROVED');

    const usage = await cli(app, 'dev', ['request', 'nginx']);
    expect(usage.code).toBe(2);
    expect(usage.out).toContain('--team is required');
    expect(usage.out).toContain('portcullis request --help');
  });
});
