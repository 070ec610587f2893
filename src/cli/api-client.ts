/**
 * The CLI's client of the Portcullis REST API. The server comes from `--server`, else
 * PORTCULLIS_URL, else the active profile (see profiles.ts), else http://127.0.0.1:8080; the
 * token only from the environment (PORTCULLIS_TOKEN, or the variable the profile names), so
 * that it never shows in the shell history or the process list. A server URL carrying
 * credentials is refused without echoing them.
 */
import axios, { type AxiosInstance } from 'axios';
import { AppError, ERROR_STATUS, type ErrorCode } from '../lib/errors';
import { CliError, EXIT, redactUrl } from './common';
import { activeProfile } from './profiles';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** Options every API command takes, for node:util parseArgs. */
export const serverOption = { server: { type: 'string' as const }, profile: { type: 'string' as const } };

export interface ApiClient {
  /** The server, without credentials, and where it was configured. */
  readonly server: string;
  get<T>(path: string, params?: Record<string, string | undefined>): Promise<T>;
  getText(path: string, params?: Record<string, string | undefined>): Promise<string>;
  post<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<T>;
  /** POST returning the response headers too (lower-case names). */
  postWithHeaders<T>(path: string, body: unknown, headers?: Record<string, string>): Promise<{ data: T; headers: Record<string, string> }>;
  delete(path: string): Promise<void>;
}

type ErrorBody = { error?: { code?: string; message?: string; details?: { reason?: unknown; digest?: unknown } } } | undefined;

/** Text responses (Accept: text/plain) still carry the JSON error envelope. */
function parseBody(data: unknown): ErrorBody {
  if (typeof data !== 'string') return data as ErrorBody;
  try {
    return JSON.parse(data) as ErrorBody;
  } catch {
    return undefined;
  }
}

/** What to do next, per API error code. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: 'check PORTCULLIS_TOKEN (local stack: source .stack/demo-tokens.env); `portcullis whoami` shows who the token is',
  FORBIDDEN: 'your token lacks the role for this; `portcullis whoami` shows your roles and teams',
  NOT_FOUND: '`portcullis list` shows the requests of your teams',
  FOUR_EYES: 'someone other than the requester must do this',
  WAIVERS_REQUIRED: 'waive each blocking finding first: portcullis waive ID FINDING --reason TEXT --expires YYYY-MM-DD',
  NOT_APPROVED: 'request it: portcullis request IMAGE --team TEAM --justification TEXT',
  RATE_LIMITED: 'wait a minute and try again',
};

/**
 * A revoked digest is NOT_APPROVED too, but requesting it again answers REVOKED: the way out is
 * an admin's unrevoke (or another digest), so that hint replaces "request it".
 */
function hintFor(code: ErrorCode, details: { reason?: unknown; digest?: unknown } | undefined): string | undefined {
  if (code === 'NOT_APPROVED' && details?.reason === 'REVOKED') {
    const digest = typeof details.digest === 'string' ? details.digest : 'sha256:…';
    return `the digest is on the team's deny-list: an admin lifts it with portcullis unrevoke --digest ${digest} --team TEAM --reason TEXT, or request another digest`;
  }
  return HINTS[code];
}

/** The API's `{error: {code, message}}` becomes an AppError with that code; nothing else leaks. */
function toError(err: unknown, server: string, source: string): Error {
  if (axios.isAxiosError(err)) {
    const body = parseBody(err.response?.data);
    const code = body?.error?.code;
    if (code && code in ERROR_STATUS) {
      return new CliError(`${code}: ${body?.error?.message ?? code}`, EXIT.FAILED, hintFor(code as ErrorCode, body?.error?.details));
    }
    if (err.response) return new CliError(`${server} answered HTTP ${err.response.status}`, EXIT.FAILED, `is ${server} a Portcullis server? (server from ${source})`);
    return new CliError(`cannot reach ${server}: ${err.code ?? err.message}`, EXIT.UNREACHABLE,
      `is the server running? the server came from ${source}; set --server URL or PORTCULLIS_URL`);
  }
  return new AppError('INTERNAL', err instanceof Error ? err.message : String(err));
}

/** The server URL and where it came from; refuses credentials in it. */
export function resolveServer(flags: { server?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): { server: string; source: string; tokenEnv: string } {
  const profile = activeProfile(flags.profile, env);
  const [raw, source] = flags.server !== undefined ? [flags.server, '--server']
    : env.PORTCULLIS_URL ? [env.PORTCULLIS_URL, 'PORTCULLIS_URL']
      : profile ? [profile.profile.server, `profile ${profile.name}`]
        : [DEFAULT_SERVER, 'the default'];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`the server (${source}) is not a URL`, EXIT.USAGE, 'write it as http(s)://host:port');
  }
  if (url.username || url.password) {
    throw new CliError(`the server URL (${source}) ${redactUrl(raw)} carries credentials; Portcullis takes none in a URL`, EXIT.USAGE,
      'drop user:password@ from the URL and put your token in PORTCULLIS_TOKEN');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`the server (${source}) must be http:// or https://`, EXIT.USAGE);
  return { server: url.href.replace(/\/+$/, ''), source, tokenEnv: profile?.profile.tokenEnv ?? 'PORTCULLIS_TOKEN' };
}

export function apiClient(flags: string | { server?: string; profile?: string } | undefined, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const { server, source, tokenEnv } = resolveServer(typeof flags === 'object' ? flags : { server: flags }, env);
  const token = env[tokenEnv];
  if (!token) {
    throw new CliError(`no token: set ${tokenEnv} to your Portcullis token`, EXIT.USAGE, 'local stack: source .stack/demo-tokens.env');
  }
  const http: AxiosInstance = axios.create({
    baseURL: server,
    timeout: 30000,
    headers: { authorization: `Bearer ${token}` },
    maxRedirects: 0,
  });
  const call = async <T>(fn: () => Promise<{ data: T; headers: unknown }>): Promise<{ data: T; headers: Record<string, string> }> => {
    try {
      const res = await fn();
      return { data: res.data, headers: Object.fromEntries(Object.entries(res.headers as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), String(v)])) };
    } catch (err) {
      throw toError(err, server, source);
    }
  };
  return {
    server,
    get: async <T>(path: string, params?: Record<string, string | undefined>) => (await call<T>(() => http.get<T>(path, { params }))).data,
    getText: async (path, params) => (await call(() => http.get<string>(path, { params, headers: { accept: 'text/plain' }, responseType: 'text' }))).data,
    post: async <T>(path: string, body: unknown, headers?: Record<string, string>) => (await call<T>(() => http.post<T>(path, body, { headers }))).data,
    postWithHeaders: <T>(path: string, body: unknown, headers?: Record<string, string>) => call<T>(() => http.post<T>(path, body, { headers })),
    delete: async (path) => { await call(() => http.delete(path)); },
  };
}
