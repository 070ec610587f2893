/**
 * The first hour of a new user with the CLI (issue 11.2–11.5, 11.10, 8.6), as real processes
 * against the service on the harness's real Redis, registries and nginx.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { freePort, tempDir } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { runTs } from '../../harness/worker-process';

const ROOT = path.resolve(__dirname, '../../..');

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  // A home of its own: no profile file or auth.json of the machine leaks in. Removed after the
  // run: @swc/core leaves a 30 MB native cache in every home, 20 runs a test file.
  const home = tempDir('cli-home');
  const p = runTs('src/cli.ts', args, { HOME: home, XDG_CONFIG_HOME: '', PORTCULLIS_URL: '', PORTCULLIS_TOKEN: '', PORTCULLIS_CONFIG: '', ...env });
  const code = await p.exited;
  rmSync(home, { recursive: true, force: true });
  return { code, out: p.output() };
}

describe('the CLI for a new user', () => {
  const svc = services();
  let app: TestApp;
  let image: string;
  const as = (who: Who | null, args: string[], env: NodeJS.ProcessEnv = {}) => run(args, { PORTCULLIS_URL: app.url, PORTCULLIS_TOKEN: who ? tokenOf(who) : '', ...env });

  beforeAll(async () => {
    app = await startTestApp();
    const repo = uniqueName('firsthour');
    await pushImage(svc.upstream.url, repo, '1.0', await buildImage({ layers: [{ files: { 'etc/first.txt': randomBytes(32).toString('hex') } }] }));
    image = `${svc.upstream.host}/${repo}:1.0`;
  });
  afterAll(async () => { await app.stop(); });

  it('answers --help on every command, --version, and names PORTCULLIS_URL, PORTCULLIS_TOKEN and --server', async () => {
    const top = await run(['--help'], {});
    expect(top.code).toBe(0);
    for (const word of ['PORTCULLIS_URL', 'PORTCULLIS_TOKEN', '--server', 'Exit codes']) expect(top.out).toContain(word);
    const commands = [...top.out.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
    expect(commands).toEqual(expect.arrayContaining(['request', 'status', 'queue', 'approve', 'reject', 'waive', 'approved', 'whoami', 'list', 'code-scan', 'config', 'completion']));
    for (const c of commands) {
      const help = await run([c, '--help'], {});
      expect([c, help.code]).toEqual([c, 0]);
      expect(help.out).toContain(`usage: portcullis ${c}`);
      // The placeholder `usage: portcullis robot …` says nothing: every command shows its own.
      expect([c, help.out]).not.toEqual([c, expect.stringMatching(/^usage: portcullis [a-z-]+ …\n$/)]);
    }
    expect(commands).toEqual(expect.arrayContaining(['revoke', 'unrevoke', 'robot']));
    expect((await run(['unrevoke', '--help'], {})).out).toContain('--digest');
    const version = await run(['--version'], {});
    expect(version.out.trim()).toBe(`portcullis ${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}`);
  });

  it('never echoes credentials of --server, and tells an unreachable server (exit 3) from a refusal (exit 1)', async () => {
    const creds = await as('dev', ['status', 'x', '--server', 'http://alice:s3cret-pw@127.0.0.1:1']);
    expect(creds.code).toBe(2);
    expect(creds.out).not.toContain('s3cret-pw');
    expect(creds.out).not.toContain('alice');
    expect(creds.out).toContain('carries credentials');
    const down = await as('dev', ['status', 'x'], { PORTCULLIS_URL: `http://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(3);
    expect(down.out).toMatch(/cannot reach .*\n.*--server URL or PORTCULLIS_URL/);
    const refused = await as('dev', ['status', 'no-such-request']);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('NOT_FOUND');
    expect(refused.out).toContain('portcullis list');
  });

  it('shows who you are, your requests, deduplication, and why a request was rejected and by whom', async () => {
    const me = await as('dev', ['whoami']);
    expect(me.code).toBe(0);
    expect(me.out).toMatch(/name: +dev\nroles: +developer\nteams: +payments\nsource: +tokens-file/);

    const first = await as('dev', ['request', image, '--team', 'payments', '--justification', 'first', '--wait']);
    expect(first.code).toBe(0);
    expect(first.out).toContain('created');
    const id = /id:\s+(\S+)/.exec(first.out)![1];
    const again = await as('devApprover', ['request', image, '--team', 'payments', '--justification', 'again']);
    expect(again.out).toContain('deduplicated');
    expect(again.out).not.toContain('created');

    const list = await as('dev', ['list', '--status', 'awaiting_approval']);
    expect(list.code).toBe(0);
    expect(list.out).toMatch(new RegExp(`^ID +STATUS +TEAM +BY +VERDICT +IMAGE\\n(.*\\n)*${id} +awaiting_approval +payments +dev `, 'm'));
    const json = JSON.parse((await as('dev', ['list', '--output', 'json'])).out);
    expect(json.items.map((r: { id: string }) => r.id)).toContain(id);

    const rejected = await as('approver', ['reject', id, '--reason', 'not on our base-image list']);
    expect(rejected.code).toBe(0);
    const status = await as('dev', ['status', id]);
    expect(status.out).toMatch(/status: +rejected/);
    expect(status.out).toMatch(/decision: +rejected by approver at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: not on our base-image list/);
  });

  it('says how many more requests wait beyond the page of the queue', async () => {
    const repo = uniqueName('firsthour-q');
    for (const tag of ['a', 'b', 'c']) {
      await pushImage(svc.upstream.url, repo, tag, await buildImage({ layers: [{ files: { [`q/${tag}`]: randomBytes(16).toString('hex') } }] }));
      await as('dev', ['request', `${svc.upstream.host}/${repo}:${tag}`, '--team', 'payments', '--justification', 'queue', '--wait']);
    }
    const page = await as('approver', ['queue', '--limit', '1']);
    expect(page.code).toBe(0);
    const total = JSON.parse((await as('approver', ['queue', '--all', '--output', 'json'])).out).items.length;
    expect(total).toBeGreaterThanOrEqual(3);
    expect(page.out).toContain(`… and ${total - 1} more awaiting approval`);
  });

  it('audit verify tells Redis unreachable (exit 3) from a broken chain (exit 1)', async () => {
    const dir = tempDir('cli-cfg');
    const file = path.join(dir, 'config.yaml');
    writeFileSync(file, `redis:\n  url: redis://127.0.0.1:${await freePort()}\nscanners: []\n`);
    const r = await run(['audit', 'verify'], { PORTCULLIS_CONFIG: file, PORTCULLIS_AUDIT_KEY: `k1:${randomBytes(32).toString('base64')}` });
    expect(r.code).toBe(3);
    expect(r.out).toContain('cannot reach Redis');
    expect(r.out).not.toContain('PORTCULLIS_CONFIG is not set');
    // No configuration at all: the default Redis is named as such, with where the real one comes from.
    const bare = await run(['audit', 'verify'], { PORTCULLIS_AUDIT_KEY: `k1:${randomBytes(32).toString('base64')}`, PORTCULLIS_REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(bare.code).toBe(3);
    expect(bare.out).toContain('PORTCULLIS_CONFIG is not set');
    expect(bare.out).toContain('source .stack/demo-tokens.env');
  });

  it('waive: a date that is not one is named as the problem, without four usages', async () => {
    for (const bad of ['tomorrow', '2027-02-30', 'Dec 31 2099']) {
      const r = await as('approver', ['waive', 'some-id', 'CVE-1', '--reason', 'x', '--expires', bad]);
      expect(r.code).toBe(2);
      expect(r.out).toContain(`--expires '${bad}'`);
      expect(r.out).not.toContain('usage: portcullis queue');
    }
  });

  it('uses the current profile of the config file, and prints completion scripts', async () => {
    const xdg = tempDir('xdg');
    expect((await run(['config', 'set-profile', 'test', '--server', app.url], { XDG_CONFIG_HOME: xdg })).code).toBe(0);
    expect(readFileSync(path.join(xdg, 'portcullis/config.yaml'), 'utf8')).toContain(app.url);
    const me = await run(['whoami', '--output', 'json'], { XDG_CONFIG_HOME: xdg, PORTCULLIS_TOKEN: tokenOf('auditor') });
    expect(me.code).toBe(0);
    expect(JSON.parse(me.out)).toMatchObject({ name: 'auditor', server: app.url });
    const bash = await run(['completion', 'bash'], {});
    expect(bash.out).toContain('complete -o default -F _portcullis portcullis');
    expect(bash.out).toContain('whoami');
    expect((await run(['completion', 'zsh'], {})).out).toContain('#compdef portcullis');
  });

  it('uploads a SARIF log as code-scan evidence', async () => {
    const repo = uniqueName('firsthour-sarif');
    await pushImage(svc.upstream.url, repo, '1', await buildImage({ layers: [{ files: { s: randomBytes(16).toString('hex') } }] }));
    const created = await as('dev', ['request', `${svc.upstream.host}/${repo}:1`, '--team', 'payments', '--justification', 'sarif', '--wait', '--output', 'json']);
    const id = JSON.parse(created.out.slice(created.out.indexOf('{'))).id;
    const file = path.join(ROOT, 'test/fixtures/sarif/semgrep.sarif.json');
    const r = await as('dev', ['code-scan', 'upload', id, file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/uploaded .*semgrep\.sarif\.json \(\d+ bytes\) to request /);
    expect((await app.call('auditor', 'GET', `/v1/requests/${id}`)).body.codeScans).toHaveLength(1);
  });

  it('inspect of a plain-HTTP registry hints at --insecure; credentials come from --creds-env, not the command line', async () => {
    const ref = `${svc.upstream.host}/nothing-here:1`;
    const plain = await run(['inspect', ref], {});
    expect(plain.code).toBe(3);
    expect(plain.out).toContain('add --insecure');
    const missing = await run(['inspect', ref, '--insecure', '--creds-env', 'NOPE_CREDS'], {});
    expect(missing.code).toBe(2);
    expect(missing.out).toContain('--creds-env NOPE_CREDS: the variable is not set');
  });
});
