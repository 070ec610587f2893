/**
 * JSON over HTTP for the remote scanner adapters (Clair and Harbor share it), on the one
 * outbound HTTP client (lib/http). One place decides what a fault means:
 * no connection, a timeout or a 5xx is `SCANNER_UNAVAILABLE` (temporary, the pipeline
 * retries); a body that is not what the published API document says is `SCAN_FAILED`.
 * Error messages name the operation and the status, never a header or a URL's credentials.
 */
import type { z } from 'zod';
import { AppError } from '../../lib/errors';
import { defaultHttpClient, isHttpError, type HttpClient } from '../../lib/http';
import type { Logger } from '../../lib/logger';
import { scrubSecrets } from '../../lib/logger';

/**
 * The `Authorization` header value a remote scanner must send to the internal registry to
 * pull `repository` (`Basic …` or `Bearer …`), or undefined when the registry is anonymous.
 * A function, so that main.ts can mint a short-lived, pull-only token per repository.
 */
export type RegistryAuthorization = (repository: string) => Promise<string | undefined>;

/** Time, injectable so that polling can be tested without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What main.ts hands a remote scanner adapter besides its config entry. */
export interface RemoteScannerDeps {
  /** Credentials the scanner uses to pull from the internal registry. */
  registryAuthorization: RegistryAuthorization;
  logger: Logger;
  /** @defaultValue the system clock */
  clock?: Clock;
  /** The outbound HTTP client (its TLS and proxy settings). @defaultValue the process's default client */
  http?: HttpClient;
}

export interface HttpCall {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Names the operation in errors, e.g. `Clair index_report`. */
  what: string;
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: Buffer;
}

/** Reports can be large (thousands of vulnerabilities), but not unbounded. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * Sends one request without following redirects (Harbor's 302 means "not ready", not
 * "look elsewhere") and reads the whole, capped body.
 */
export async function send(call: HttpCall, client: HttpClient = defaultHttpClient()): Promise<HttpResult> {
  try {
    const reply = await client.request({ ...call, maxBodyBytes: MAX_RESPONSE_BYTES, what: call.what });
    return { status: reply.status, headers: reply.headers, body: reply.body };
  } catch (err) {
    if (!isHttpError(err)) throw err;
    if (err.reason === 'too_large') throw new AppError('SCAN_FAILED', `${call.what}: response larger than ${MAX_RESPONSE_BYTES} bytes`);
    const message = err.reason === 'connection_lost'
      ? `${call.what}: connection lost while reading the response (${codeOf(err.cause)})`
      : `${call.what}: scanner unreachable (${err.reason === 'timeout' ? 'timeout' : codeOf(err.cause)})`;
    throw new AppError('SCANNER_UNAVAILABLE', message, { cause: err, temporary: true });
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

/** The service's own error text, if its body carries one (Clair `{message}`, Harbor `{error:{message}}`). */
export function errorText(body: Buffer): string {
  let text = body.toString('utf8').trim();
  try {
    const json = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } };
    const msg = json.error?.message ?? json.message;
    if (typeof msg === 'string') text = msg;
  } catch {
    // not JSON: use the text as it is
  }
  return scrubSecrets(text.replace(/\s+/g, ' ')).slice(0, 300);
}

/** A status the operation does not expect: 5xx (and 429) are temporary, the rest are not. */
export function unexpectedStatus(result: HttpResult, what: string): AppError {
  const detail = errorText(result.body);
  const message = `${what}: HTTP ${result.status}${detail ? ` (${detail})` : ''}`;
  if (result.status >= 500 || result.status === 429) {
    return new AppError('SCANNER_UNAVAILABLE', message, { temporary: true });
  }
  if (result.status === 401 || result.status === 403) {
    return new AppError('SCANNER_UNAVAILABLE', `${message}: the scanner refused our credentials; check the adapter's authentication settings`);
  }
  return new AppError('SCAN_FAILED', message);
}

/** Parses and validates a JSON body; anything off-spec is `SCAN_FAILED` naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, result: HttpResult, what: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(result.body.toString('utf8'));
  } catch {
    throw new AppError('SCAN_FAILED', `${what}: malformed response (not JSON)`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    throw new AppError('SCAN_FAILED', `${what}: malformed response (${where}: ${issue.message})`);
  }
  return parsed.data as z.infer<S>;
}

/** Base URL without trailing slashes, so that paths can be appended. */
export function baseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}
