/**
 * Turns anything thrown in a route into `{"error":{"code","message"}}`. A 5xx hides its
 * message from the client (it may name internal hosts) and logs the full error instead.
 */
import type { NextFunction, Request, Response } from 'express';
import { AppError, toAppError } from '../../lib/errors';

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps express.json()'s own errors to our codes. */
function fromBodyParser(err: unknown): AppError | undefined {
  const e = err as BodyParserError;
  if (e?.type === 'entity.too.large') return new AppError('BODY_TOO_LARGE', 'request body is larger than the limit');
  if (e?.type === 'entity.parse.failed') return new AppError('INVALID_REQUEST', 'request body is not valid JSON');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 'unsupported body encoding');
  }
  return undefined;
}

export function errorHandler() {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appErr = fromBodyParser(err) ?? toAppError(err);
    const log = req.log ?? undefined;
    if (appErr.status >= 500) {
      log?.error({ error: appErr.cause instanceof Error ? appErr.cause : appErr }, `request failed: ${appErr.code}`);
    }
    if (res.headersSent) return;
    // Every 401 (no token, or a token refused for a stated reason) asks for a bearer token (RFC 6750).
    if (appErr.status === 401) res.setHeader('WWW-Authenticate', appErr.code === 'UNAUTHENTICATED' ? 'Bearer realm="portcullis"' : 'Bearer realm="portcullis", error="invalid_token"');
    const message = appErr.status >= 500 ? `internal error (request id ${req.id})` : appErr.message;
    res.status(appErr.status).json({ error: { code: appErr.code, message, ...(appErr.status < 500 && appErr.details ? { details: appErr.details } : {}) } });
  };
}

export function notFound() {
  return (req: Request, _res: Response, next: NextFunction): void => {
    next(new AppError('NOT_FOUND', `no route ${req.method} ${req.path}`));
  };
}
