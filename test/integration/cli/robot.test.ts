/** `portcullis robot …` in-process against the service: create prints the token alone on stdout, then rotate, disable, enable, list, delete. */
import { run } from '../../../src/cli/robot';
import { startTestApp, tokenOf, type TestApp, type Who } from '../../harness/app';
import { capture } from '../../harness/capture';

let app: TestApp;
beforeAll(async () => { app = await startTestApp({ worker: false }); });
afterAll(() => app?.stop());

async function robot(who: Who, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = { url: process.env.PORTCULLIS_URL, token: process.env.PORTCULLIS_TOKEN };
  process.env.PORTCULLIS_URL = app.url;
  process.env.PORTCULLIS_TOKEN = tokenOf(who);
  try {
    return await capture(() => run(args));
  } finally {
    process.env.PORTCULLIS_URL = saved.url;
    process.env.PORTCULLIS_TOKEN = saved.token;
    if (saved.url === undefined) delete process.env.PORTCULLIS_URL;
    if (saved.token === undefined) delete process.env.PORTCULLIS_TOKEN;
  }
}

async function works(token: string): Promise<number> {
  return (await fetch(`${app.url}/v1/approved?image=docker.io/library/nginx:1.27&team=payments`, { headers: { authorization: `Bearer ${token}` } })).status;
}

describe('portcullis robot', () => {
  it('creates, rotates, disables, enables, lists and deletes a robot', async () => {
    const created = await robot('admin', ['create', 'release-bot', '--team', 'payments', '--role', 'ci', '--expires-in-days', '30']);
    expect(created.code).toBe(0);
    const token = created.out.trim();
    expect(token).toMatch(/^pcr_[a-f0-9]{16}_\S+$/);
    expect(created.err).toContain('shown once');
    expect(await works(token)).toBe(404);
    const id = token.split('_')[1];

    const rotated = await robot('admin', ['rotate', id, '--expires-in-days', '10']);
    expect(rotated.code).toBe(0);
    expect(rotated.out.trim()).not.toBe(token);
    expect(await works(rotated.out.trim())).toBe(404);

    expect((await robot('admin', ['disable', id])).out).toContain('disabled (admin)');
    expect(await works(rotated.out.trim())).toBe(401);
    expect((await robot('admin', ['enable', id])).out).toContain('enabled');
    const listed = await robot('admin', ['list']);
    expect(listed.out).toContain(`${id}  payments/release-bot  roles=ci`);
    const json = JSON.parse((await robot('admin', ['list', '--json'])).out);
    expect(json.find((r: { id: string }) => r.id === id)).toMatchObject({ name: 'release-bot', expiresInDays: 10 });

    expect((await robot('admin', ['delete', id])).out).toBe(`deleted ${id}\n`);
    expect(await works(rotated.out.trim())).toBe(401);
  });

  it('refuses a create without expiry (usage) and a non-admin (FORBIDDEN)', async () => {
    expect((await robot('admin', ['create', 'x', '--team', 'payments', '--role', 'ci'])).code).toBe(2);
    expect((await robot('admin', ['create', 'x', '--team', 'payments', '--role', 'ci', '--expires-in-days', 'soon'])).code).toBe(2);
    await expect(robot('dev', ['create', 'x', '--team', 'payments', '--role', 'ci', '--expires-in-days', '5'])).rejects.toMatchObject({ name: 'CliError', message: expect.stringMatching(/^FORBIDDEN: /) });
    await expect(robot('admin', ['create', 'x', '--team', 'payments', '--role', 'ci', '--expires-in-days', '365'])).rejects.toMatchObject({ name: 'CliError', message: expect.stringMatching(/^INVALID_REQUEST: /) });
  });
});
