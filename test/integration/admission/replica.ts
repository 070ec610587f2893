/**
 * Webhook replicas for the admission tests, wired as main.ts wires `--role webhook`: the ledger
 * snapshot and the break-glass exceptions from Redis, a subscriber of their own, and optionally
 * the admission ledger as the recorder's sink. Plus an HTTPS poster for reviews.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import Redis from 'ioredis';
import { RedisAdmissionLedger, RedisExceptionStore, startAdmission, type AdmissionHandle, type AdmissionSettings } from '../../../src/admission';
import { createLogger } from '../../../src/lib/logger';
import { RedisLedgerSnapshot } from '../../../src/store';
import { makeCert } from '../../harness/certs';

const cert = makeCert('admission-replica');
export const tls = { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) };
const logger = createLogger({ level: 'silent' });

export interface Replica {
  h: AdmissionHandle;
  stop(): Promise<void>;
}

export async function startReplica(redisUrl: string, prefix: string, settings: Partial<AdmissionSettings> & { namespaces: Record<string, string> }, opts: { now?: () => number; ledger?: RedisAdmissionLedger } = {}): Promise<Replica> {
  const redis = new Redis(redisUrl);
  const sub = new Redis(redisUrl);
  const ledger = new RedisLedgerSnapshot(redis, prefix);
  const exceptions = new RedisExceptionStore(redis, prefix);
  const h = await startAdmission({
    settings: { host: '127.0.0.1', port: 0, exempt: ['kube-system'], resyncMs: 60_000, maxStalenessMs: 300_000, ...settings },
    tls, prefix, subscriber: sub, logger, ...(opts.now ? { now: opts.now } : {}), ...(opts.ledger ? { ledger: opts.ledger } : {}),
    source: {
      snapshot: async () => {
        const approvedTags = await ledger.approvedTags();
        return { ...(await ledger.snapshot()), approvedTags, revokedTags: await ledger.revokedTags(), exceptions: await exceptions.all() };
      },
      version: () => ledger.version(),
    },
  });
  return { h, stop: async () => { await h.stop(); sub.disconnect(); redis.disconnect(); } };
}

export function review(port: number, body: unknown, endpoint: 'validate' | 'mutate' = 'validate'): Promise<{ status: number; response: { uid: string; allowed: boolean; warnings?: string[]; status?: { message: string }; patch?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/admission/${endpoint}`, method: 'POST', ca: tls.cert, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, response: (JSON.parse(text) as { response: never }).response }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Polls `check` until it holds, for at most `ms` (the 1 s a change may take to reach every replica). */
export async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
