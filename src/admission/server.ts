/**
 * The webhook's HTTPS server: `POST /admission/mutate` and `POST /admission/validate` take an
 * AdmissionReview v1 and answer one with the same `uid`; `/healthz` and `/readyz`. Served by the
 * webhook's own strict HTTP/1.1 layer on node's TLS (./http1.ts says why and what it refuses): a
 * review is one small JSON body, and every microsecond here is spent by the API server on every
 * Pod. A malformed review answers 400 with a code; a review is never answered from the network,
 * only from the replica's memory.
 */
import { AppError, isAppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { mutate, validate, type AdmissionState, type Decision } from './decide';
import { serveHttp1, type Http1Answer, type Http1Limits, type Http1Request, type Http1Server } from './http1';
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
  /** The HTTP layer's limits (tests shorten its timeouts). */
  limits?: Partial<Http1Limits>;
}

const answerOf = (status: number, body: unknown): Http1Answer => ({ status, json: JSON.stringify(body) });

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
export function startWebhookServer(o: WebhookServerOptions): Promise<Http1Server> {
  const fail = (err: unknown): Http1Answer => {
    const e = isAppError(err) ? err : new AppError('INTERNAL', 'internal error', { cause: err });
    if (e.status >= 500) o.logger.error({ error: err }, 'admission review failed');
    return answerOf(e.status, { error: { code: e.code, message: e.status >= 500 ? 'internal error' : e.message } });
  };
  const answer = (endpoint: 'mutate' | 'validate', body: Buffer): Http1Answer => {
    try {
      const review = parseReview(body);
      const decision = (endpoint === 'mutate' ? mutate : validate)(review, o.state());
      o.onDecision?.(review, endpoint, decision);
      return { status: 200, json: admissionResponseJson(review.uid, decision) };
    } catch (err) {
      return fail(err);
    }
  };
  const handle = (req: Http1Request): Http1Answer => {
    const { method, path } = req;
    const endpoint = path === '/admission/validate' ? 'validate' : path === '/admission/mutate' ? 'mutate' : null;
    if (endpoint === null || method !== 'POST') {
      // HEAD is answered as GET is, without the body (the HTTP layer leaves it out).
      const get = method === 'GET' || method === 'HEAD';
      if (get && path === '/healthz') return answerOf(200, { status: 'ok' });
      if (get && path === '/readyz') {
        const r = o.readiness();
        return answerOf(r.ready ? 200 : 503, r.body);
      }
      return answerOf(404, { error: { code: 'NOT_FOUND', message: `no route ${method} ${path}` } });
    }
    if (!(req.contentType ?? '').startsWith('application/json')) {
      return answerOf(415, { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'an AdmissionReview is application/json' } });
    }
    return answer(endpoint, req.body);
  };
  return serveHttp1({
    host: o.host, port: o.port, cert: o.cert, key: o.key, handle, limits: { maxBodyBytes: MAX_BODY, ...o.limits },
    onError: (err) => o.logger.error({ error: err }, 'admission webhook request failed'),
  });
}
