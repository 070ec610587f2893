/**
 * One error type for the whole service: a string `code` that clients and logs can match on,
 * an HTTP status from one table, and an optional cause. A 5xx hides its message from the
 * client (see api/middleware/errors.ts) and logs it instead.
 */
import { isRedisUnavailable } from './redis-errors';

/** Every error code the service can answer with, and the HTTP status it maps to. */
export const ERROR_STATUS = {
  // input
  INVALID_REQUEST: 400,
  INVALID_REFERENCE: 400,
  INVALID_SARIF: 400,
  UNKNOWN_FIELD: 400,
  BODY_TOO_LARGE: 413,
  CODE_SCAN_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // HTTP/1.1 framing the admission webhook refuses (src/admission/http1.ts); the connection closes after
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  EXPECTATION_FAILED: 417,
  TRANSFER_CODING_UNSUPPORTED: 501,
  HTTP_VERSION_UNSUPPORTED: 505,
  /** A break-glass exception's `expires` is not in the future. */
  EXPIRES_IN_PAST: 400,
  /** A break-glass exception's `expires` is more than 24 h ahead. */
  EXPIRES_TOO_LATE: 400,
  // identity and access
  UNAUTHENTICATED: 401,
  // a bearer JWT or robot token recognised but refused (src/identity): each says why
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_NOT_YET_VALID: 401,
  TOKEN_AUDIENCE_MISMATCH: 401,
  TOKEN_ISSUER_UNKNOWN: 401,
  TOKEN_ALGORITHM_REFUSED: 401,
  TOKEN_KEY_UNKNOWN: 401,
  TOKEN_SIGNATURE_INVALID: 401,
  PRINCIPAL_DISABLED: 401,
  /** The console's OIDC sign-in (or a refresh) was refused by the provider or failed a check (state, nonce, PKCE, ID token). */
  OIDC_SIGNIN_FAILED: 401,
  IDENTITY_UNMAPPED: 403,
  FORBIDDEN: 403,
  /** A console form or mutating fetch without its session's CSRF token. */
  CSRF_INVALID: 403,
  NOT_FOUND: 404,
  /** A Clair notifier webhook whose `callback` is not under the scanner's notifier URL: never fetched. */
  CALLBACK_REFUSED: 400,
  NOT_APPROVED: 404,
  RATE_LIMITED: 429,
  // workflow
  CONFLICT: 409,
  INVALID_STATE: 409,
  FOUR_EYES: 403,
  /** `policy.approvals.distinctGroups`: the approver shares a group with an earlier approver, or has none. */
  FOUR_EYES_GROUPS: 403,
  WAIVERS_REQUIRED: 409,
  /** A lease's holder found it lapsed (stalled past its TTL, another may hold it) before a write only the holder may make: not written, retried. */
  LEASE_LOST: 409,
  /** The digest is on the team's deny-list (an admin revoked it); details say who, when and why. */
  REVOKED: 409,
  // Known at once from the configuration: the request itself is wrong.
  UPSTREAM_NOT_ALLOWED: 400,
  IMAGE_NOT_FOUND: 422,
  /** The image has no manifest for a requested platform. */
  PLATFORM_NOT_FOUND: 422,
  POLICY_FAILED: 422,
  // registry and copy
  DIGEST_MISMATCH: 502,
  MANIFEST_INVALID: 502,
  MANIFEST_TOO_LARGE: 502,
  MANIFEST_UNSUPPORTED: 502,
  REGISTRY_ERROR: 502,
  REGISTRY_UNAVAILABLE: 503,
  REGISTRY_AUTH_FAILED: 502,
  // scanning
  SCAN_FAILED: 502,
  SCAN_LIMIT_EXCEEDED: 422,
  /** An index child that is neither a scannable image nor provably inert (issue 8.1). */
  UNSCANNABLE_CHILD: 422,
  SCANNER_UNAVAILABLE: 503,
  // the service itself
  CONFIG_INVALID: 500,
  DEPENDENCY_UNAVAILABLE: 503,
  ISSUER_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface AppErrorOptions {
  /** The underlying error, logged but never sent to a client. */
  cause?: unknown;
  /** Overrides the status from {@link ERROR_STATUS}. */
  status?: number;
  /** Structured, non-secret details that may be shown to the client (4xx only). */
  details?: Record<string, unknown>;
  /** Whether retrying the same operation later may succeed. @defaultValue false */
  temporary?: boolean;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  readonly temporary: boolean;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.details = options.details;
    this.temporary = options.temporary ?? false;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/**
 * Wraps anything thrown into an AppError, keeping AppErrors as they are. Redis being away (a
 * refused connection, a command timeout, a replica refusing writes during failover), raw or
 * as the cause of an INTERNAL error, becomes 503 DEPENDENCY_UNAVAILABLE, temporary.
 */
export function toAppError(err: unknown, fallback: ErrorCode = 'INTERNAL'): AppError {
  const redisAway = isAppError(err) ? err.code === 'INTERNAL' && isRedisUnavailable(err.cause) : isRedisUnavailable(err);
  if (redisAway) return new AppError('DEPENDENCY_UNAVAILABLE', 'the store (Redis) is unavailable', { cause: err, temporary: true });
  if (isAppError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError(fallback, message, { cause: err });
}
