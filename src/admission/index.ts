/**
 * The admission webhook role: the replica's synced approved set, the namespace map and the HTTPS
 * server, put together. main.ts wires it for `--role webhook`; the API and workers wire
 * {@link ledgerAnnouncer} on their event bus so replicas hear of changes.
 */
import type Redis from 'ioredis';
import type { Registry } from 'prom-client';
import type { Logger } from '../lib/logger';
import { keepTickShapes } from '../lib/tick-shapes';
import { AdmissionMetrics } from './metrics';
import { NamespaceMap } from './namespaces';
import { AdmissionRecorder, type RecordSink } from './recorder';
import type { AdmissionState } from './decide';
import { startWebhookServer } from './server';
import { LedgerSync, ledgerChannel, type LedgerSource } from './sync';

export { ledgerAnnouncer, ledgerChange } from './announce';
export { ApprovedSet, type ApprovedEntry, type ApprovedTag, type RevokedEntry, type RevokedTag } from './approved-set';
export { NamespaceMap } from './namespaces';
export { ledgerChannel, LedgerSync, type LedgerChange, type LedgerSource } from './sync';
export { AdmissionDirectory, type NamespacesView } from './directory';
export { ExceptionService, type ExceptionInput, type ExceptionView } from './exception-service';
export { RedisExceptionStore, type ExceptionStore } from './exception-store';
export type { AdmissionException } from './exceptions';
export { RedisAdmissionLedger, type WorkloadReader, type WorkloadSeen } from './ledger-store';
export { AdmissionRecorder, type AdmissionRecord, type RecordSink } from './recorder';
export { serveHttp1, type Http1Answer, type Http1Limits, type Http1Request, type Http1Server } from './http1';

export interface AdmissionSettings {
  host: string;
  port: number;
  namespaces: Record<string, string>;
  exempt: string[];
  resyncMs: number;
  maxStalenessMs: number;
  /** The admission ledger's buffering (config `webhook.ledger`); records only with a `ledger` sink. */
  ledger?: { bufferSize: number; batchSize: number; flushMs: number; sampleMs: number };
}

const LEDGER_DEFAULTS = { bufferSize: 10_000, batchSize: 500, flushMs: 1000, sampleMs: 300_000 };

export interface AdmissionHandle {
  port: number;
  sync: LedgerSync;
  namespaces: NamespaceMap;
  recorder: AdmissionRecorder | null;
  stop(): Promise<void>;
}

/** Loads the set (retrying until Redis answers), subscribes to changes and serves reviews. */
export async function startAdmission(o: {
  settings: AdmissionSettings; tls: { cert: Buffer; key: Buffer }; prefix: string; source: LedgerSource; subscriber: Redis; logger: Logger; now?: () => number;
  /** Where the admission ledger's batches go; without one nothing is recorded. */
  ledger?: RecordSink;
  /** The process's metrics registry. */
  registry?: Registry;
}): Promise<AdmissionHandle> {
  // main.ts does this first thing; here too, for a replica started without it (bench:admission).
  keepTickShapes();
  const log = o.logger.child({ module: 'admission' });
  const now = o.now ?? Date.now;
  const namespaces = new NamespaceMap(o.settings.namespaces, o.settings.exempt);
  const sync = new LedgerSync(o.source, o.subscriber, ledgerChannel(o.prefix), { resyncMs: o.settings.resyncMs, maxStalenessMs: o.settings.maxStalenessMs, now }, log);
  await sync.start();
  const metrics = o.registry
    ? new AdmissionMetrics(o.registry, { stale: () => sync.staleSince() !== null, buffered: () => recorder?.buffered ?? 0, approved: () => sync.set.size, exceptions: () => sync.exceptions.size })
    : null;
  const recorder = o.ledger ? new AdmissionRecorder(o.ledger, { ...LEDGER_DEFAULTS, ...o.settings.ledger, now }, (outcome, n) => metrics?.record(outcome, n), log) : null;
  recorder?.start();
  let current: AdmissionState | null = null;
  const { port, close } = await startWebhookServer({
    host: o.settings.host, port: o.settings.port, cert: o.tls.cert, key: o.tls.key, logger: log,
    state: () => {
      if (sync.failClosed()) return { set: sync.set, exceptions: sync.exceptions, clock: now, namespaces, staleSince: new Date(sync.staleSince() ?? 0).toISOString() };
      // One state object per loaded set, not one per review: the clock is read only where an
      // exception is matched.
      if (current === null || current.set !== sync.set || current.exceptions !== sync.exceptions) current = { set: sync.set, exceptions: sync.exceptions, clock: now, namespaces };
      return current;
    },
    // Ready while the view can be trusted; stale but within maxStaleness stays ready (taking every
    // replica out of the Service would deny all Pods at once), saying so; past it, not ready.
    readiness: () => {
      const since = sync.staleSince();
      const body = { status: since === null ? 'ready' : 'stale', approved: sync.set.size, ...(since !== null && sync.confirmedAt !== null ? { staleSince: new Date(since).toISOString() } : {}), ...(sync.confirmedAt === null ? { loaded: false } : {}) };
      return { ready: sync.confirmedAt !== null && !sync.failClosed(), body };
    },
    onDecision: (review, endpoint, d) => {
      metrics?.review(endpoint, !d.allowed ? 'denied' : d.warnings?.length ? 'warned' : 'allowed');
      // Both, in the stream of recent decisions; only validation's admitted Pods count as running
      // (ledger-store.ts): a Pod mutate pinned may still be denied.
      recorder?.record(review, d, endpoint);
      if (endpoint === 'validate' && (!d.allowed || d.warnings?.length)) {
        log.info({ 'event.kind': 'event', 'event.category': ['configuration'], 'event.action': `admission.${d.allowed ? 'warned' : 'denied'}`, 'event.outcome': d.allowed ? 'success' : 'failure',
          namespace: review.namespace, kind: review.kind.kind, name: review.name, images: d.images }, d.message ?? d.warnings?.[0] ?? 'admission');
      }
    },
  });
  log.info({ 'server.port': port }, `admission webhook on https://${o.settings.host}:${port}`);
  return {
    port, sync, namespaces, recorder,
    stop: async () => {
      sync.stop();
      await recorder?.stop();
      await close();
    },
  };
}
