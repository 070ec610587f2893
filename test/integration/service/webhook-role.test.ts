/**
 * `node dist/src/main.js --role webhook` as a process: it refuses to start without TLS, and with
 * it serves reviews from the real ledger in Redis (an approval written by the ledger's store),
 * hearing a revocation announced by the API's event-bus announcer within a second; its metrics and
 * the admission ledger see the decisions.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import Redis from 'ioredis';
import { ledgerAnnouncer, ledgerChannel } from '../../../src/admission';
import { RedisApprovalStore, RedisRevocationStore, type Approval } from '../../../src/store';
import { makeCert } from '../../harness/certs';
import { freePort } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { containers, podReview } from '../../unit/admission/reviews';
import { startService } from './spawn-service';

const D = `sha256:${'4'.repeat(64)}`;

function https(port: number, ca: Buffer, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

describe('the webhook role', () => {
  const svc = services();

  it('refuses to start without a TLS key pair', async () => {
    const s = startService({ internalRegistry: { url: svc.internal.url }, redis: { url: svc.redis.url, prefix: uniqueName('wh') } }, ['--role', 'webhook']);
    expect(await s.exited).toBe(1);
    expect(s.stderr()).toContain('config: webhook.tlsCertFile: the webhook role serves HTTPS only');
  });

  it('admits an approved digest from the ledger and denies it once revoked', async () => {
    const cert = makeCert('webhook-role');
    const ca = readFileSync(cert.certFile);
    const prefix = uniqueName('wh');
    const redis = new Redis(svc.redis.url);
    const approval: Approval = {
      team: 'payments', digest: D, image: 'docker.io/library/nginx', tags: ['1.25'], platforms: [],
      internalRef: `registry.internal/approved/payments/docker.io/library/nginx@${D}`, internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1.25',
      approvedAt: new Date().toISOString(), approvedBy: ['ann'], requestId: 'r1',
    };
    await new RedisApprovalStore(redis, prefix).put(approval);
    const port = await freePort();
    const metricsPort = await freePort();
    const s = startService({
      internalRegistry: { url: svc.internal.url }, redis: { url: svc.redis.url, prefix },
      webhook: { port, tlsCertFile: cert.certFile, tlsKeyFile: cert.keyFile, namespaces: { 'payments-*': 'payments' }, ledger: { flushMs: 100 } },
    }, ['--role', 'webhook'], { PORTCULLIS_METRICS_PORT: String(metricsPort) });
    try {
      for (let i = 0; ; i += 1) {
        const ready = await https(port, ca, '/readyz').catch(() => null);
        if (ready?.body.status === 'ready') break;
        if (i > 200) throw new Error(`the webhook never became ready: ${s.stdout()}${s.stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const review = () => podReview('payments-prod', containers(approval.internalRef));
      expect((await https(port, ca, '/admission/validate', review())).body.response.allowed).toBe(true);
      // Revoked through the ledger's stores, then announced as the API's event bus does.
      await new RedisRevocationStore(redis, prefix).add({ team: 'payments', digest: D, by: 'sec', at: '2026-12-01T12:00:00Z', reason: 'malware' }, []);
      await new RedisApprovalStore(redis, prefix).remove('payments', approval.image, D);
      const t0 = Date.now();
      await ledgerAnnouncer(redis, ledgerChannel(prefix))({ type: 'approval.revoked', actor: 'sec', details: { team: 'payments', digest: D, reason: 'malware', at: '2026-12-01T12:00:00Z' } });
      for (;;) {
        const r = await https(port, ca, '/admission/validate', review());
        if (!r.body.response.allowed) {
          expect(r.body.response.status.message).toContain('REVOKED for team payments by sec');
          break;
        }
        if (Date.now() - t0 > 1000) throw new Error('still admitted a second after the revocation');
        await new Promise((res) => setTimeout(res, 20));
      }
      // The replica counts its decisions on its metrics listener, and wrote them to the admission ledger.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`).catch((err: unknown) => { throw new Error(`${String(err)}: ${s.stdout()}${s.stderr()}`); })).text();
      expect(metrics).toMatch(/portcullis_admission_reviews_total\{endpoint="validate",outcome="allowed"\} [1-9]/);
      expect(metrics).toMatch(/portcullis_admission_reviews_total\{endpoint="validate",outcome="denied"\} [1-9]/);
      expect(metrics).toContain('portcullis_admission_stale 0');
      for (let i = 0; ; i += 1) {
        if ((await redis.xlen(`${prefix}:admission:decisions`)) >= 2) break;
        if (i > 100) throw new Error('the decisions never reached the admission ledger');
        await new Promise((res) => setTimeout(res, 50));
      }
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
      redis.disconnect();
    }
  });
});
