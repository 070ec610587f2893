/**
 * JSON bodies: only `application/json` (anything else with a body → 415), capped at
 * `server.bodyLimit`, except code-scan uploads, which get `server.codeScanBodyLimit`.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../../lib/errors';

/** Code-scan (SARIF) uploads; the route itself belongs to the scanners' API. */
export const CODE_SCAN_PATH = /^\/v1\/requests\/[^/]+\/code-scans\/?$/;

export function jsonBodies(limits: { bodyLimit: string; codeScanBodyLimit: string }) {
  const small = express.json({ limit: limits.bodyLimit, strict: true, type: 'application/json' });
  const large = express.json({ limit: limits.codeScanBodyLimit, strict: true, type: 'application/json' });
  return (req: Request, res: Response, next: NextFunction): void => {
    const hasBody = (req.get('content-length') ?? '0') !== '0' || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/json')) return next(new AppError('UNSUPPORTED_MEDIA_TYPE', 'request bodies must be application/json'));
    (CODE_SCAN_PATH.test(req.originalUrl.split('?')[0]) ? large : small)(req, res, next);
  };
}
