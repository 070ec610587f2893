/**
 * The webhook's own HTTP/1.1 layer (src/admission/http1.ts) against a real Go client built as the
 * Kubernetes API server's webhook client is (test/fixtures/admission/go-client: net/http over TLS,
 * HTTP/2 offered by ALPN, byte bodies with a Content-Length, kept-alive connections shared by
 * concurrent callers): every review is answered with its own uid and verdict, over HTTP/1.1, on
 * reused connections; a body of unknown length (chunked) and `Expect: 100-continue` too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { startAdmission, type AdmissionHandle, type ApprovedEntry } from '../../../src/admission';
import { createLogger } from '../../../src/lib/logger';
import { makeCert } from '../../harness/certs';
import { buildGoSource } from '../../harness/go-build';
import { services, uniqueName } from '../../harness/services';
import { containers, podReview } from '../../unit/admission/reviews';

const run = promisify(execFile);
const cert = makeCert('webhook-go');
const D1 = `sha256:${'1'.repeat(64)}`;
const entry: ApprovedEntry = { team: 'payments', image: 'docker.io/library/nginx', digest: D1, internalRef: `registry.internal/approved/payments/docker.io/library/nginx@${D1}`, tags: ['1.25'], internalTag: '1.25' };

interface Outcome { answers: number; uidsMatched: number; allowed: number; reused: number; errors: string[]; protocols: Record<string, number> }

describe('the admission webhook with a Go client, as the API server calls it', () => {
  let client: string;
  let dir: string;
  let h: AdmissionHandle;
  let sub: Redis;

  beforeAll(async () => {
    client = buildGoSource(path.join(__dirname, '../../fixtures/admission/go-client'));
    dir = mkdtempSync(path.join(os.tmpdir(), 'pcs-go-client-'));
    sub = new Redis(services().redis.url);
    h = await startAdmission({
      settings: { host: '127.0.0.1', port: 0, namespaces: { 'payments-*': 'payments' }, exempt: ['kube-system'], resyncMs: 60_000, maxStalenessMs: 300_000 },
      tls: { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) }, prefix: uniqueName('adm-go'),
      source: { snapshot: async () => ({ approvals: [entry], revoked: [] }) }, subscriber: sub, logger: createLogger({ level: 'silent' }),
    });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
    sub?.disconnect();
    rmSync(dir, { recursive: true, force: true });
    rmSync(path.dirname(client), { recursive: true, force: true });
  });

  const reviewFile = (name: string, image: string): { file: string; uid: string } => {
    const review = podReview('payments-prod', containers(image));
    const file = path.join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(review));
    return { file, uid: (review.request as { uid: string }).uid };
  };

  it.each(['bytes', 'stream', 'expect'])('answers every review of 8 concurrent callers (%s body) with its uid, on reused HTTP/1.1 connections', async (mode) => {
    const approved = reviewFile(`approved-${mode}`, entry.internalRef);
    const unknown = reviewFile(`unknown-${mode}`, 'docker.io/library/redis:7');
    const { stdout } = await run(client, [`https://127.0.0.1:${h.port}/admission/validate`, cert.certFile, mode, approved.file, unknown.file], { timeout: 60_000 });
    const out = JSON.parse(stdout) as Outcome;
    expect(out.errors).toEqual([]);
    // 8 callers x 25 rounds x 2 reviews, each answered with its own uid: the approved Pod allowed, the other denied.
    expect(out).toMatchObject({ answers: 400, uidsMatched: 400, allowed: 200, protocols: { 'HTTP/1.1': 400 } });
    // Kept alive: most requests went on a connection that had answered before.
    expect(out.reused).toBeGreaterThan(300);
  }, 90_000);
});
