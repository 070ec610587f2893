/**
 * `npm run stack` as a new user meets it (issue 11.1, 11.2, 11.8): started on non-default
 * ports, its banner's commands work as printed (through .stack/demo-tokens.env), every role has
 * a token, its demo data has a flagged request, an approved image and that image at risk, and a
 * second stack on the same ports refuses to start, naming them, without a banner.
 * Runs the built script (dist/scripts/stack.js) with a state folder of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, tempDir } from '../../harness/proc';

const ROOT = path.resolve(__dirname, '../../..');

interface Run { child: ChildProcess; out: () => string; exited: Promise<number | null> }

function start(env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/scripts/stack.js')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => { out += c.toString(); });
  child.stderr?.on('data', (c: Buffer) => { out += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  process.once('exit', () => child.kill('SIGKILL'));
  return { child, out: () => out, exited };
}

async function until(what: string, fn: () => boolean, run: Run, tries = 1200): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (fn()) return;
    if (run.child.exitCode !== null) throw new Error(`stack exited before ${what}:\n${run.out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`never: ${what}\n${run.out()}`);
}

/** Runs the built CLI with the variables of demo-tokens.env (as `source` would set them). */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/cli.js'), ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: tempDir('home'), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('npm run stack', () => {
  let first: Run | undefined;
  afterAll(async () => {
    if (first && first.child.exitCode === null) {
      first.child.kill('SIGINT');
      await first.exited;
    }
  });

  it('prints commands that work on its ports, offers every role, and a second stack on the same ports refuses', async () => {
    const state = tempDir('stack');
    const env: NodeJS.ProcessEnv = { PORTCULLIS_STACK_DIR: state, NODE_ENV: 'production' };
    for (const name of ['API', 'REDIS', 'REGISTRY', 'UPSTREAM', 'PROXY']) env[`PORTCULLIS_STACK_${name}_PORT`] = String(await freePort());
    const run = start(env);
    first = run;
    await until('the banner', () => run.out().includes('Ctrl-C stops everything.'), run);
    const banner = run.out();
    for (const role of ['developer', 'approver', 'ci robot', 'admin', 'auditor']) expect(banner).toMatch(new RegExp(`\\n  ${role} +\\S+ +\\([^)]*\\) +pc_`));
    expect(banner).not.toContain('127.0.0.1:8080');
    expect(banner).toContain(`console             http://127.0.0.1:${env.PORTCULLIS_STACK_API_PORT}/ui`);

    const vars: Record<string, string> = {};
    for (const line of readFileSync(path.join(state, 'demo-tokens.env'), 'utf8').split('\n')) {
      const m = /^export (\w+)=(.*)$/.exec(line);
      if (m) vars[m[1]] = m[2];
    }
    expect(vars.PORTCULLIS_URL).toBe(`http://127.0.0.1:${env.PORTCULLIS_STACK_API_PORT}`);
    for (const [token, role] of [['DEV_TOKEN', 'developer'], ['ADMIN_TOKEN', 'admin'], ['AUDITOR_TOKEN', 'auditor']]) {
      const me = await cli(['whoami', '--output', 'json'], { ...vars, PORTCULLIS_TOKEN: vars[token] });
      expect(me.code).toBe(0);
      expect(JSON.parse(me.out).roles).toEqual([role]);
    }
    // `audit verify` as the banner prints it: no overlay to know about, PORTCULLIS_CONFIG is in the env file.
    const verify = await cli(['audit', 'verify'], vars);
    expect(verify).toEqual({ code: 0, out: expect.stringContaining('audit log intact') });
    // The console's demo data: an approved image and a flagged request awaiting approval, and the
    // approved image at risk once the real advisory published after its approval is synced
    // (the scanner's scheduled sync runs every minute: this waits up to four).
    await until('the console demo data', () => run.out().includes('stack: console demo data:'), run, 2400);
    expect(run.out()).toMatch(/approved demo\.local\/library\/tools:1\.0 is now at risk \(GHSA-xvch-5gv4-984h/);
    const atRisk = await fetch(`${vars.PORTCULLIS_URL}/v1/approved?team=payments&health=at_risk`, { headers: { authorization: `Bearer ${vars.AUDITOR_TOKEN}` } });
    const risky = ((await atRisk.json()) as { items: Array<{ image: string; health?: { state: string; blocking?: Array<{ id: string }> } }> }).items;
    expect(risky).toEqual([expect.objectContaining({ image: 'demo.local/library/tools', health: expect.objectContaining({ state: 'at_risk', blocking: [expect.objectContaining({ id: 'GHSA-xvch-5gv4-984h' })] }) })]);
    const listed = await fetch(`${vars.PORTCULLIS_URL}/v1/requests?limit=10`, { headers: { authorization: `Bearer ${vars.AUDITOR_TOKEN}` } });
    const items = ((await listed.json()) as { items: Array<{ status: string; policy: { verdict: string } | null }> }).items;
    expect(items.map((i) => i.status).sort()).toEqual(['approved', 'awaiting_approval']);
    expect(items.find((i) => i.status === 'awaiting_approval')?.policy?.verdict).toBe('fail');
    // The scanner's database and its sync feed are copies under the state folder, not the git-tracked sample.
    expect(existsSync(path.join(state, 'osv'))).toBe(true);
    expect(existsSync(path.join(state, 'osv-feed/npm/GHSA-xvch-5gv4-984h.json'))).toBe(true);

    const second = start({ ...env, PORTCULLIS_STACK_DIR: tempDir('stack2') });
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.out()).not.toContain('Demo tokens');
    expect(second.out()).toContain(`api      127.0.0.1:${env.PORTCULLIS_STACK_API_PORT} is in use (set PORTCULLIS_STACK_API_PORT to move it)`);
    expect(second.out()).toContain(`registry 127.0.0.1:${env.PORTCULLIS_STACK_REGISTRY_PORT} is in use`);
    // The first stack is untouched.
    expect((await fetch(`${vars.PORTCULLIS_URL}/readyz`)).ok).toBe(true);
  }, 420_000);
});
