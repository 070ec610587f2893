/**
 * A Portcullis with the console, the real builtin scanner (onFail: flag) and one scanned
 * request by `devApprover` of team payments with a critical, fixable finding that blocks: what
 * the console tests look at. `session(who)` signs in through the form, as a browser would.
 */
import { startTestApp, tokenOf, type TestApp, type TestAppOptions, type Who } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { buildVulnerableImage, CountingScanner, privateOsvDb } from '../flow/scan-fixtures';

export interface ConsoleFixture {
  app: TestApp;
  /** The scanned request awaiting approval (requested by devApprover, team payments). */
  id: string;
  image: string;
  repo: string;
}

export async function startConsoleFixture(options: TestAppOptions = {}): Promise<ConsoleFixture> {
  const svc = services();
  const scanner = new CountingScanner('builtin', privateOsvDb());
  await scanner.check();
  const app = await startTestApp({ scanners: [scanner], ...options, config: { policy: { onFail: 'flag' }, ...options.config } });
  const img = await buildVulnerableImage();
  const repo = uniqueName('console');
  await pushImage(svc.upstream.url, repo, '1.0', img);
  const image = `${svc.upstream.host}/${repo}:1.0`;
  const created = await app.call('devApprover', 'POST', '/v1/requests', { image, team: 'payments', justification: '=HYPERLINK("http://evil.example","click")' });
  if (created.status !== 202) throw new Error(`request not created: ${created.status} ${created.text}`);
  await app.waitForStatus(created.body.id, ['awaiting_approval']);
  return { app, id: created.body.id, image, repo };
}

export interface Session {
  cookie: string;
  csrf: string;
  get(path: string): Promise<Response>;
  post(path: string, form: Record<string, string>, withCsrf?: boolean): Promise<Response>;
}

export function cookieOf(res: Response, name: string): string | undefined {
  for (const c of res.headers.getSetCookie()) if (c.startsWith(`${name}=`)) return c;
  return undefined;
}

export function csrfIn(htmlText: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(htmlText);
  if (!m) throw new Error('no CSRF field in the page');
  return m[1];
}

/** Signs in through the login form with `who`'s token (or `token`). */
export async function session(app: TestApp, who: Who, token = tokenOf(who)): Promise<Session> {
  const login = await fetch(`${app.url}/ui/login`);
  const loginCookie = cookieOf(login, 'portcullis_login')!.split(';')[0];
  const res = await fetch(`${app.url}/ui/login`, {
    method: 'POST', redirect: 'manual', headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf: csrfIn(await login.text()), token, next: '/ui/overview' }),
  });
  if (res.status !== 303) throw new Error(`sign-in of ${who} answered ${res.status}`);
  const cookie = cookieOf(res, 'portcullis_session')!.split(';')[0];
  const overview = await fetch(`${app.url}/ui/overview`, { headers: { cookie } });
  const csrf = csrfIn(await overview.text());
  return {
    cookie, csrf,
    get: (path) => fetch(`${app.url}${path}`, { headers: { cookie }, redirect: 'manual' }),
    post: (path, form, withCsrf = true) => fetch(`${app.url}${path}`, {
      method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form, ...(withCsrf ? { csrf } : {}) }),
    }),
  };
}

/** Pushes `repo:2.0` without the vulnerable package and has `dev` request it; returns the request id once it awaits approval. */
export async function requestFixedVersion(f: ConsoleFixture): Promise<string> {
  const svc = services();
  const img = await buildImage({
    layers: [{ files: { 'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n',
      'var/lib/dpkg/status': 'Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u5\nDescription: base\n' } }],
    config: { User: '1000:1000' },
  });
  await pushImage(svc.upstream.url, f.repo, '2.0', img);
  const created = await f.app.call('dev', 'POST', '/v1/requests', { image: `${svc.upstream.host}/${f.repo}:2.0`, team: 'payments', justification: 'the fixed version' });
  await f.app.waitForStatus(created.body.id, ['awaiting_approval']);
  return created.body.id as string;
}
