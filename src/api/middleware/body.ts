/**
 * JSON bodies: only `application/json` (anything else with a body → 415), capped at
 * `server.bodyLimit`, except code-scan uploads, which get `server.codeScanBodyLimit` and may
 * also be sent as `application/sarif+json`, the SARIF 2.1.0 media type (§3.1) that SAST
 * tools and their upload scripts use.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppError } from '../../lib/errors';
import { notJson } from '../../intake';

/** Code-scan (SARIF) uploads; the route itself belongs to the scanners' API. */
export const CODE_SCAN_PATH = /^\/v1\/requests\/[^/]+\/code-scans\/?$/;

/**
 * The bytes of each code-scan upload as received (after Content-Encoding), for its sha256 and
 * its one stored copy; a WeakMap, so they go with the request.
 */
const rawBodies = new WeakMap<object, Buffer>();
export const rawBodyOf = (req: Request): Buffer | undefined => rawBodies.get(req);

/** Media types a code-scan upload may carry. */
const SARIF_TYPES = ['application/json', 'application/sarif+json'] as const;

export function jsonBodies(limits: { bodyLimit: string; codeScanBodyLimit: string }) {
  const small = express.json({ limit: limits.bodyLimit, strict: true, type: 'application/json' });
  const large = express.json({ limit: limits.codeScanBodyLimit, strict: true, type: [...SARIF_TYPES], verify: (req, _res, buf) => { rawBodies.set(req, buf); } });
  return (req: Request, res: Response, next: NextFunction): void => {
    const hasBody = (req.get('content-length') ?? '0') !== '0' || req.get('transfer-encoding') !== undefined;
    const codeScan = CODE_SCAN_PATH.test(req.originalUrl.split('?')[0]);
    if (hasBody && !req.is(codeScan ? [...SARIF_TYPES] : 'application/json')) {
      return next(new AppError('UNSUPPORTED_MEDIA_TYPE', `request bodies must be ${codeScan ? SARIF_TYPES.join(' or ') : 'application/json'}`));
    }
    const decoded = (err?: unknown) => (err === undefined ? undefined : fromDecoding(err, req.get('content-encoding')));
    if (!codeScan) return small(req, res, (err?: unknown) => next(decoded(err)));
    // A code-scan body that is not JSON at all is a broken SARIF log: say where it breaks.
    large(req, res, (err?: unknown) => {
      const e = err as { type?: string; body?: unknown } | undefined;
      next(e?.type === 'entity.parse.failed' && typeof e.body === 'string' ? notJson(e.body) : decoded(err));
    });
  };
}

/**
 * A corrupt `Content-Encoding: gzip|deflate|br` body makes zlib throw inside the parser, which
 * passes the zlib error on with status 400 but no parser `type`; unmapped, it would be a 500.
 * The client sent bytes that do not decode: that is their error, and says which encoding.
 */
function fromDecoding(err: unknown, encoding: string | undefined): unknown {
  const e = err as { type?: unknown; status?: unknown; code?: unknown } | undefined;
  const zlibCode = typeof e?.code === 'string' && /^(Z_|ERR_BROTLI|ERR__ERROR|ERR_ZLIB)/.test(e.code);
  if (e && e.type === undefined && e.status === 400 && (zlibCode || encoding)) {
    return new AppError('INVALID_REQUEST', `request body cannot be decoded as Content-Encoding: ${encoding ?? 'identity'}`, { cause: err });
  }
  return err;
}
