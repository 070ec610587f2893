/**
 * The CLI's client of the Portcullis REST API, for the commands people use day to day
 * (request, status, queue, approve, reject, approved). The server comes from `--server` or
 * PORTCULLIS_URL; the token only from PORTCULLIS_TOKEN, so that it never shows in the shell
 * history or the process list.
 */
import axios, { type AxiosInstance } from 'axios';
import { AppError, ERROR_STATUS, type ErrorCode } from '../lib/errors';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** Options every API command takes, for node:util parseArgs. */
export const serverOption = { server: { type: 'string' as const } };

export interface ApiClient {
  get<T>(path: string, params?: Record<string, string | undefined>): Promise<T>;
  getText(path: string, params?: Record<string, string | undefined>): Promise<string>;
  post<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
}

type ErrorBody = { error?: { code?: string; message?: string } } | undefined;

/** Text responses (Accept: text/plain) still carry the JSON error envelope. */
function parseBody(data: unknown): ErrorBody {
  if (typeof data !== 'string') return data as ErrorBody;
  try {
    return JSON.parse(data) as ErrorBody;
  } catch {
    return undefined;
  }
}

/** The API's `{error: {code, message}}` becomes an AppError with that code; nothing else leaks. */
function toError(err: unknown, server: string): AppError {
  if (axios.isAxiosError(err)) {
    const body = parseBody(err.response?.data);
    const code = body?.error?.code;
    if (code && code in ERROR_STATUS) return new AppError(code as ErrorCode, body?.error?.message ?? code);
    if (err.response) return new AppError('INTERNAL', `${server} answered HTTP ${err.response.status}`);
    return new AppError('DEPENDENCY_UNAVAILABLE', `cannot reach ${server}: ${err.code ?? err.message}`);
  }
  return new AppError('INTERNAL', err instanceof Error ? err.message : String(err));
}

export function apiClient(serverFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const server = (serverFlag ?? env.PORTCULLIS_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
  const token = env.PORTCULLIS_TOKEN;
  if (!token) throw new AppError('UNAUTHENTICATED', 'set PORTCULLIS_TOKEN to your Portcullis token');
  const http: AxiosInstance = axios.create({
    baseURL: server,
    timeout: 30000,
    headers: { authorization: `Bearer ${token}` },
    maxRedirects: 0,
  });
  const call = async <T>(fn: () => Promise<{ data: T }>): Promise<T> => {
    try {
      return (await fn()).data;
    } catch (err) {
      throw toError(err, server);
    }
  };
  return {
    get: (path, params) => call(() => http.get(path, { params })),
    getText: (path, params) => call(() => http.get<string>(path, { params, headers: { accept: 'text/plain' }, responseType: 'text' })),
    post: (path, body) => call(() => http.post(path, body)),
    delete: async (path) => { await call(() => http.delete(path)); },
  };
}
