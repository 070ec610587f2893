/**
 * Webhook replicas on real Redis and real HTTPS: two replicas hear a revocation announced through
 * the event-bus announcer within a second; one whose Redis goes away keeps admitting from its last
 * view, says it is stale, then denies Pods (fail closed) once `maxStalenessMs` has passed, and is
 * current again when Redis returns. Reviews answer with the request's uid; malformed ones get 400.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import Redis from 'ioredis';
import { ledgerAnnouncer, ledgerChannel, startAdmission, type AdmissionHandle, type ApprovedEntry, type LedgerSource, type RevokedEntry } from '../../../src/admission';
import { createLogger } from '../../../src/lib/logger';
import { makeCert } from '../../harness/certs';
import { startRedis } from '../../harness/redis';
import { services, uniqueName } from '../../harness/services';
import { containers, podReview } from '../../unit/admission/reviews';

const cert = makeCert('webhook');
const tls = { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
const logger = createLogger({ level: 'silent' });
const D1 = `sha256:${'1'.repeat(64)}`;
const entry: ApprovedEntry = { team: 'payments', image: 'docker.io/library/nginx', digest: D1, internalRef: `registry.internal/approved/payments/docker.io/library/nginx@${D1}`, tags: ['1.25'], internalTag: '1.25' };
const settings = { host: '127.0.0.1', port: 0, namespaces: { 'payments-*': 'payments' }, exempt: ['kube-system'], resyncMs: 60_000, maxStalenessMs: 300_000 };

function post(port: number, path: string, body: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = typeof body === 'string' ? body : JSON.stringify(body);
    const req = request({ host: '127.0.0.1', port, path, method: path.startsWith('/admission') ? 'POST' : 'GET', ca: tls.cert, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(path.startsWith('/admission') ? data : undefined);
  });
}

/** Posts `pieces` as separate writes (separate TLS records), with a content-length or chunked. */
function postPieces(port: number, pieces: string[], contentLength: boolean): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const length = Buffer.byteLength(pieces.join(''));
    const req = request({ host: '127.0.0.1', port, path: '/admission/validate', method: 'POST', ca: tls.cert, headers: { 'content-type': 'application/json', ...(contentLength ? { 'content-length': String(length) } : {}) } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    const next = (i: number): void => {
      if (i === pieces.length) { req.end(); return; }
      req.write(pieces[i]);
      setTimeout(() => next(i + 1), 5);
    };
    next(0);
  });
}

/** A ledger kept in one Redis key, so that reading it fails while that Redis is down. */
function redisSource(redis: Redis, key: string): LedgerSource {
  return {
    async snapshot() {
      const raw = await redis.get(key);
      return raw ? (JSON.parse(raw) as { approvals: ApprovedEntry[]; revoked: RevokedEntry[] }) : { approvals: [], revoked: [] };
    },
  };
}

const allowed = async (port: number, image: string) => {
  const review = podReview('payments-prod', containers(image));
  const r = await post(port, '/admission/validate', review);
  expect(r.status).toBe(200);
  expect(r.body.response.uid).toBe((review.request as { uid: string }).uid);
  return r.body.response as { allowed: boolean; status?: { message: string } };
};

describe('webhook replicas', () => {
  it('hear a revocation within a second, each from its own memory', async () => {
    const svc = services();
    const prefix = uniqueName('adm');
    const redis = new Redis(svc.redis.url);
    const key = `${prefix}:test-ledger`;
    await redis.set(key, JSON.stringify({ approvals: [entry], revoked: [] }));
    const replicas: Array<{ h: AdmissionHandle; sub: Redis }> = [];
    try {
      for (let i = 0; i < 2; i += 1) {
        const sub = new Redis(svc.redis.url);
        replicas.push({ h: await startAdmission({ settings, tls, prefix, source: redisSource(redis, key), subscriber: sub, logger }), sub });
      }
      for (const { h } of replicas) expect((await allowed(h.port, entry.internalRef)).allowed).toBe(true);
      // An admin revokes: the ledger records it, then the API's event bus announces it.
      const revocation = { team: 'payments', digest: D1, image: entry.image, reason: 'malware', by: 'sec-admin', at: '2026-12-01T12:00:00Z' };
      await redis.set(key, JSON.stringify({ approvals: [], revoked: [revocation] }));
      const announce = ledgerAnnouncer(redis, ledgerChannel(prefix));
      const t0 = Date.now();
      await announce({ type: 'approval.revoked', actor: 'sec-admin', details: { team: 'payments', digest: D1, image: entry.image, reason: 'malware', at: '2026-12-01T12:00:00Z' } });
      for (const { h } of replicas) {
        for (;;) {
          const r = await allowed(h.port, entry.internalRef);
          if (!r.allowed) {
            expect(r.status?.message).toContain('REVOKED for team payments by sec-admin at 2026-12-01T12:00:00Z: malware');
            break;
          }
          if (Date.now() - t0 > 1000) throw new Error('a replica still admitted the revoked digest after 1 s');
          await new Promise((r2) => setTimeout(r2, 20));
        }
      }
      // The reload the announcement triggered keeps it revoked.
      await new Promise((r) => setTimeout(r, 200));
      for (const { h } of replicas) expect((await allowed(h.port, entry.internalRef)).allowed).toBe(false);
    } finally {
      for (const { h, sub } of replicas) { await h.stop(); sub.disconnect(); }
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('serves its last view while Redis is away, then fails closed, and recovers when it returns', async () => {
    const own = await startRedis();
    const prefix = uniqueName('adm-down');
    const redis = new Redis(own.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    const sub = new Redis(own.url, { retryStrategy: () => 100 });
    redis.on('error', () => undefined);
    sub.on('error', () => undefined);
    const key = `${prefix}:ledger`;
    await redis.set(key, JSON.stringify({ approvals: [entry], revoked: [] }));
    const h = await startAdmission({ settings: { ...settings, resyncMs: 500, maxStalenessMs: 1500 }, tls, prefix, source: redisSource(redis, key), subscriber: sub, logger });
    let restarted: Awaited<ReturnType<typeof startRedis>> | undefined;
    try {
      expect((await post(h.port, '/readyz', undefined)).body.status).toBe('ready');
      await own.stop();
      await new Promise((r) => setTimeout(r, 300));
      // Away: still admitting from memory, ready but saying it is stale.
      expect((await allowed(h.port, entry.internalRef)).allowed).toBe(true);
      const stale = await post(h.port, '/readyz', undefined);
      expect({ status: stale.status, state: stale.body.status }).toEqual({ status: 200, state: 'stale' });
      // Past maxStaleness: Pods are denied, and the replica is not ready.
      await new Promise((r) => setTimeout(r, 1700));
      const closed = await allowed(h.port, entry.internalRef);
      expect(closed.allowed).toBe(false);
      expect(closed.status?.message).toContain('failing closed');
      expect((await post(h.port, '/readyz', undefined)).status).toBe(503);
      // Redis back on the same port: reconnect, full reload, current again.
      restarted = await startRedis({ port: own.port });
      // The new server starts empty: put the ledger back (the client may still be reconnecting).
      for (let i = 0; ; i += 1) {
        if (await redis.set(key, JSON.stringify({ approvals: [entry], revoked: [] })).then(() => true, () => false)) break;
        if (i > 100) throw new Error('could not write the ledger to the restarted Redis');
        await new Promise((r) => setTimeout(r, 100));
      }
      // Current again once a reload after the ledger came back has run (resync every 500 ms).
      for (let i = 0; ; i += 1) {
        if ((await post(h.port, '/readyz', undefined)).body.status === 'ready' && (await allowed(h.port, entry.internalRef)).allowed) break;
        if (i > 100) throw new Error('the replica never became current again');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await h.stop();
      redis.disconnect();
      sub.disconnect();
      await restarted?.stop();
    }
  });

  it('answers malformed reviews with 400 and a code, and unknown routes with 404', async () => {
    const svc = services();
    const sub = new Redis(svc.redis.url);
    const h = await startAdmission({ settings, tls, prefix: uniqueName('adm-bad'), source: { snapshot: async () => ({ approvals: [], revoked: [] }) }, subscriber: sub, logger });
    try {
      expect(await post(h.port, '/admission/validate', '{not json')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
      expect(await post(h.port, '/admission/validate', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'x' } }))
        .toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', message: expect.stringContaining('not an AdmissionReview v1') } } });
      expect((await post(h.port, '/admission/other', {})).status).toBe(404);
      // A review that arrives in pieces is put together whole, whether its length was declared or not.
      const whole = JSON.stringify(podReview('payments-prod', containers(entry.internalRef)));
      const uid = (JSON.parse(whole) as { request: { uid: string } }).request.uid;
      const pieces = [whole.slice(0, 100), whole.slice(100, 700), whole.slice(700)];
      for (const declared of [true, false]) {
        const r = await postPieces(h.port, pieces, declared);
        expect(r).toMatchObject({ status: 200, body: { response: { uid, allowed: false } } });
        expect(r.body.response.status.message).toContain('NOT_APPROVED');
      }
      const comma = whole.indexOf(',') + 1;
      expect(await postPieces(h.port, [whole.slice(0, comma), '}', whole.slice(comma)], true)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
      const review = podReview('payments-prod', { containers: [{ name: 'x', image: 'UPPER/Case:tag' }] });
      const r = await post(h.port, '/admission/validate', review);
      expect(r.body.response).toMatchObject({ allowed: false, status: { message: expect.stringContaining('INVALID_REFERENCE') } });
    } finally {
      await h.stop();
      sub.disconnect();
    }
  });
});
