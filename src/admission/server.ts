/**
 * The webhook's HTTPS server: `POST /admission/mutate` and `POST /admission/validate` take an
 * AdmissionReview v1 and answer one with the same `uid`; `/healthz` and `/readyz`. Plain node
 * https rather than express: a review is one small JSON body, and every microsecond here is
 * spent by the API server on every Pod. A malformed review answers 400 with a code; a review is
 * never answered from the network, only from the replica's memory.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { AppError, isAppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { mutate, validate, type AdmissionState, type Decision } from './decide';
import { admissionResponseJson, MalformedReview, parseAdmissionReview, type AdmissionRequest } from './review';

/** Kubernetes caps objects at about 1.5 MiB in etcd; a review holds two of them. */
const MAX_BODY = 4 * 1024 * 1024;

export interface WebhookServerOptions {
  host: string;
  port: number;
  cert: Buffer;
  key: Buffer;
  state: () => AdmissionState;
  /** Readiness: `{ ready, stale, staleSince }`, from the replica's sync. */
  readiness: () => { ready: boolean; body: Record<string, unknown> };
  /** Told of every decision (the admission ledger, metrics). */
  onDecision?: (review: AdmissionRequest, endpoint: 'mutate' | 'validate', decision: Decision) => void;
  logger: Logger;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, JSON.stringify(body));
}

function sendJson(res: ServerResponse, status: number, json: string): void {
  // A flat header array: node writes it as given, with no object to walk and no name to look up.
  res.writeHead(status, ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(json))]).end(json);
}

/** The declared length of a body when it is a plain decimal within `MAX_BODY`, else -1 (the body is collected as it comes). */
function declaredLength(value: string | undefined): number {
  if (value === undefined || value.length === 0 || value.length > 8) return -1;
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n <= MAX_BODY ? n : -1;
}

function parseReview(body: Buffer): AdmissionRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new AppError('INVALID_REQUEST', 'the body is not JSON');
  }
  try {
    return parseAdmissionReview(json);
  } catch (err) {
    if (err instanceof MalformedReview) throw new AppError('INVALID_REQUEST', `not an AdmissionReview v1: ${err.message}`);
    throw err;
  }
}

/**
 * The request handler is synchronous from the body's end to the answer, with no promise, no
 * framework and one JSON.parse per review: the work per review is the API server's latency on
 * every Pod the cluster makes (bench:admission holds it against a bare HTTPS server).
 */
export async function startWebhookServer(o: WebhookServerOptions): Promise<{ server: Server; port: number }> {
  const fail = (res: ServerResponse, err: unknown): void => {
    const e = isAppError(err) ? err : new AppError('INTERNAL', 'internal error', { cause: err });
    if (e.status >= 500) o.logger.error({ error: err }, 'admission review failed');
    if (!res.headersSent && !res.destroyed) send(res, e.status, { error: { code: e.code, message: e.status >= 500 ? 'internal error' : e.message } });
  };
  const answer = (endpoint: 'mutate' | 'validate', body: Buffer, res: ServerResponse): void => {
    try {
      const review = parseReview(body);
      const decision = (endpoint === 'mutate' ? mutate : validate)(review, o.state());
      o.onDecision?.(review, endpoint, decision);
      sendJson(res, 200, admissionResponseJson(review.uid, decision));
    } catch (err) {
      fail(res, err);
    }
  };
  const server = createServer({ cert: o.cert, key: o.key, minVersion: 'TLSv1.2' }, (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const endpoint = path === '/admission/validate' ? 'validate' : path === '/admission/mutate' ? 'mutate' : null;
    if (endpoint === null || req.method !== 'POST') {
      if (req.method === 'GET' && path === '/healthz') return send(res, 200, { status: 'ok' });
      if (req.method === 'GET' && path === '/readyz') {
        const r = o.readiness();
        return send(res, r.ready ? 200 : 503, r.body);
      }
      return send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` } });
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      return send(res, 415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'an AdmissionReview is application/json' } });
    }
    // Pre-sized by content-length: one Buffer, each chunk copied in once; a review that arrives in
    // one TLS record (most) is used as it came, with no copy at all.
    const declared = declaredLength(req.headers['content-length']);
    let first: Buffer | null = null;
    let body: Buffer | null = null;
    let chunks: Buffer[] | null = null;
    let n = 0;
    req.on('data', (c: Buffer) => {
      if (n < 0) return;
      const at = n;
      n += c.length;
      if (n > MAX_BODY) {
        n = -1;
        // Answered, then the connection closed: the rest of the body is never read.
        res.setHeader('connection', 'close');
        fail(res, new AppError('BODY_TOO_LARGE', `an AdmissionReview is at most ${MAX_BODY} bytes`));
        res.once('finish', () => req.destroy());
        return;
      }
      if (at === 0) {
        first = c;
      } else if (chunks === null && declared >= n) {
        if (body === null) {
          body = Buffer.allocUnsafe(declared);
          first!.copy(body, 0);
        }
        c.copy(body, at);
      } else {
        // No usable content-length (chunked, or more than it said): collected and joined at the end.
        chunks ??= [body !== null ? body.subarray(0, at) : first!];
        chunks.push(c);
      }
    });
    // No 'error' listener: a request aborted mid-body never ends and has no one to answer, and
    // node emits a request's error only to listeners (IncomingMessage#_destroy).
    req.on('end', () => {
      if (n < 0) return;
      const whole = chunks !== null ? Buffer.concat(chunks) : body !== null ? body.subarray(0, n) : (first ?? Buffer.alloc(0));
      answer(endpoint, whole, res);
    });
  });
  server.listen(o.port, o.host);
  await once(server, 'listening');
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : o.port };
}
