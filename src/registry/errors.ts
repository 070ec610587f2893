/**
 * RegistryError: an AppError that also carries what the registry said: its HTTP status, the
 * Distribution error codes of the body (distribution-spec "Error Codes"), whether a retry
 * may succeed, and how long the registry asked us to wait (429 Retry-After).
 */
import type { IncomingMessage } from 'node:http';
import { AppError, type ErrorCode } from '../lib/errors';
import { readBody } from '../lib/http';

/** One entry of a Distribution error body `{"errors":[{code,message,detail}]}`. */
export interface DistributionError {
  code: string;
  message?: string;
  detail?: unknown;
}

export interface RegistryErrorOptions {
  cause?: unknown;
  /** The registry's HTTP status, when it answered. */
  httpStatus?: number;
  errors?: DistributionError[];
  temporary?: boolean;
  /** From Retry-After, in milliseconds. */
  retryAfterMs?: number;
  details?: Record<string, unknown>;
}

export class RegistryError extends AppError {
  readonly httpStatus?: number;
  readonly errors: DistributionError[];
  readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, options: RegistryErrorOptions = {}) {
    super(code, message, { cause: options.cause, temporary: options.temporary ?? false, details: options.details });
    this.name = 'RegistryError';
    this.httpStatus = options.httpStatus;
    this.errors = options.errors ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Whether the registry answered with this Distribution error code. */
  hasCode(code: string): boolean {
    return this.errors.some((e) => e.code === code);
  }
}

/** Error bodies are read up to this size; the rest is dropped (a hostile registry could send gigabytes). */
export const MAX_ERROR_BODY = 64 * 1024;

/** Reads at most `limit` bytes of a response body, then discards the rest of it. */
export async function readLimited(res: IncomingMessage, limit: number): Promise<Buffer> {
  return (await readBody(res, limit, 'drain')).body;
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseErrors(body: Buffer): DistributionError[] {
  try {
    const json: unknown = JSON.parse(body.toString('utf8'));
    const list = (json as { errors?: unknown }).errors;
    if (!Array.isArray(list)) return [];
    return list
      .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string')
      .map((e) => ({ code: String(e.code), message: typeof e.message === 'string' ? e.message.slice(0, 500) : undefined, detail: e.detail }));
  } catch {
    return [];
  }
}

/** A URL for messages: no query string (upload URLs carry signed state) and no userinfo. */
export function safeUrl(url: URL | string): string {
  const u = new URL(String(url));
  return `${u.origin}${u.pathname}`;
}

/** Maps a registry's status and codes to our code; temporary per the issue: 429, 5xx, TOOMANYREQUESTS. */
function classify(status: number, errors: DistributionError[]): { code: ErrorCode; temporary: boolean } {
  const codes = new Set(errors.map((e) => e.code));
  if (codes.has('DIGEST_INVALID') || codes.has('SIZE_INVALID')) return { code: 'DIGEST_MISMATCH', temporary: false };
  if (status === 429 || codes.has('TOOMANYREQUESTS')) return { code: 'REGISTRY_UNAVAILABLE', temporary: true };
  if (status === 401 || status === 403 || codes.has('UNAUTHORIZED') || codes.has('DENIED')) return { code: 'REGISTRY_AUTH_FAILED', temporary: false };
  // 501 and 505 say the registry cannot ever do this; other 5xx are conditions that pass.
  if (status >= 500) return { code: status === 501 || status === 505 ? 'REGISTRY_ERROR' : 'REGISTRY_UNAVAILABLE', temporary: status !== 501 && status !== 505 };
  if (codes.has('MANIFEST_INVALID')) return { code: 'MANIFEST_INVALID', temporary: false };
  return { code: 'REGISTRY_ERROR', temporary: false };
}

/** Reads (up to 64 KiB) and parses an error response into a RegistryError. */
export async function errorFromResponse(res: IncomingMessage, what: string): Promise<RegistryError> {
  const status = res.statusCode ?? 0;
  const body = await readLimited(res, MAX_ERROR_BODY).catch(() => Buffer.alloc(0));
  const errors = parseErrors(body);
  const { code, temporary } = classify(status, errors);
  const summary = errors.length ? errors.map((e) => `${e.code}${e.message ? `: ${e.message}` : ''}`).join('; ') : `HTTP ${status}`;
  const retryAfter = res.headers['retry-after'];
  return new RegistryError(code, `${what}: ${summary}`, {
    httpStatus: status,
    errors,
    temporary,
    retryAfterMs: parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
    details: { status, codes: errors.map((e) => e.code) },
  });
}

const TEMPORARY_NET = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED',
  'ENETUNREACH', 'EHOSTUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

/** Wraps a network-level failure (no HTTP answer) into a RegistryError; resets and timeouts are temporary. */
export function networkError(err: unknown, what: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const temporary = (code !== undefined && TEMPORARY_NET.has(code)) || /socket hang up|aborted|premature close/i.test(message);
  return new RegistryError('REGISTRY_UNAVAILABLE', `${what}: ${code ?? message}`, { cause: err, temporary });
}

/** Whether an error is worth a retry. */
export function isTemporary(err: unknown): boolean {
  return err instanceof AppError ? err.temporary : networkError(err, '').temporary;
}
