/**
 * Which approved digests a Clair notification touches, with thousands of approved digests on
 * the real Redis (the real ledger, requests and scan-result stores): a digest named directly,
 * and an index through one of its child images, whose remembered child lists are read in
 * bounded MGET chunks (counted at the server with MONITOR), not with one GET per approved
 * digest; child lists not remembered yet are read from the scanner once and remembered.
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import type { DomainEvent } from '../../../src/intake/events';
import { ApprovedDigests } from '../../../src/monitor/approved-digests';
import { CHILDREN_CHUNK, ClairNotificationService, type ClairNotifierScanner } from '../../../src/monitor/clair-notifications';
import { FindingsOutbox } from '../../../src/monitor/findings-outbox';
import type { RegistryClient } from '../../../src/registry/types';
import type { ScanReport, ScanTarget } from '../../../src/scanners/types';
import { RedisApprovalStore, RedisRequestStore } from '../../../src/store';
import type { IntakeRequest } from '../../../src/store/types';
import { monitorRedis } from '../../harness/redis-monitor';
import { services, uniqueName } from '../../harness/services';
import { until } from './fixtures';

const N = 1300;
const hex = (n: number, tag: string): string => `sha256:${`${tag}${n.toString(16)}`.padStart(64, '0')}`;
const digestOf = (i: number): string => hex(i, 'a');
const childOf = (i: number): string => hex(i, 'c');

describe('Clair notification: affected digests among many', () => {
  let redis: Redis;
  let monitor: { stop(): void } | undefined;
  const prefix = uniqueName('clair-affected');
  const seen: string[][] = [];

  beforeAll(async () => {
    redis = new Redis(services().redis.url);
    const at = new Date().toISOString();
    const request: IntakeRequest = {
      id: uniqueName('req'), image: 'upstream.test/app:1', team: 'payments', requestedBy: 'dev', justification: 'x', status: 'approved', createdAt: at, updatedAt: at,
      source: { registry: 'upstream.test', repository: 'app', tag: '1', digest: digestOf(0) }, platforms: [],
      scans: [{ scanner: 'clair', status: 'succeeded', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, findings: [], startedAt: at, finishedAt: at }], codeScans: [],
      policy: { verdict: 'pass', reasons: [], blocking: [] }, waivers: [], decisions: [], internalRef: null, error: null, history: [], version: 0,
    };
    await new RedisRequestStore(redis, prefix).create(request);
    const approvals = new RedisApprovalStore(redis, prefix);
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => approvals.put({
        team: 'payments', digest: digestOf(i + j), image: 'upstream.test/app', tags: [], platforms: [], internalRef: `h/approved/payments/app@${digestOf(i + j)}`,
        internalRepository: 'approved/payments/app', internalTag: '1', approvedAt: at, approvedBy: ['approver'], requestId: request.id,
      })));
    }
    // Every digest's child list is remembered, except the last three (never asked yet).
    const m = redis.multi();
    for (let i = 0; i < N - 3; i++) m.set(`${prefix}:clair:manifests:${digestOf(i)}`, JSON.stringify([childOf(i)]));
    await m.exec();
    // A socket of its own in MONITOR mode (test/harness/redis-monitor.ts says why not ioredis's).
    monitor = await monitorRedis(services().redis.url, (args) => { seen.push(args); });
  });

  afterAll(async () => {
    monitor?.stop();
    redis?.disconnect();
  });

  it('reads the remembered child lists in MGET chunks and finds the direct and index digests', async () => {
    const asked: string[] = [];
    const reread: string[] = [];
    const deleted: string[] = [];
    const scanner: ClairNotifierScanner = {
      name: 'clair',
      dbVersion: async () => 'clair-db-1',
      // The notification names: one approved digest, the children of one remembered and one
      // unremembered index, and a manifest nobody approved.
      notificationManifests: async () => [digestOf(5), childOf(700), childOf(N - 1), hex(1, 'f')],
      manifestsOf: async (t: ScanTarget) => { asked.push(t.digest); return [childOf(Number.parseInt(t.digest.slice(-3), 16))]; },
      reread: async (t: ScanTarget): Promise<ScanReport> => {
        reread.push(t.digest);
        const at = new Date().toISOString();
        return { scanner: 'clair', status: 'succeeded', summary: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 }, findings: [], startedAt: at, finishedAt: at };
      },
      deleteNotification: async (_c: string, id: string) => { deleted.push(id); },
    };
    const events: DomainEvent[] = [];
    const service = new ClairNotificationService({
      scanners: new Map([['clair', scanner]]), approved: new ApprovedDigests(redis, prefix), redis, prefix, logger: createLogger({ level: 'silent' }),
      targets: { approvals: new RedisApprovalStore(redis, prefix), requests: new RedisRequestStore(redis, prefix), internal: {} as RegistryClient, internalUrl: 'http://127.0.0.1:9' },
      events: { publish: async (e) => { events.push(e); } }, outbox: new FindingsOutbox(redis, prefix),
    });
    const id = '0f0e4c6a-3b1d-4c2e-9a55-1d2b3c4d5e6f';
    const out = await service.process({ scanner: 'clair', notificationId: id, callback: 'http://127.0.0.1:9/notifier/api/v1/notification/x' });

    expect(out.reread.sort()).toEqual([digestOf(5), digestOf(700), digestOf(N - 1)].sort());
    expect(reread.sort()).toEqual(out.reread);
    expect(deleted).toEqual([id]);
    // Only the three unremembered lists were asked of the scanner (remembered: below).
    expect(asked.sort()).toEqual([digestOf(N - 3), digestOf(N - 2), digestOf(N - 1)].sort());

    // What the server saw of the child-list keys, up to a marker sent after the run.
    const marker = `${prefix}:marker`;
    await redis.get(marker);
    await until('the marker seen by MONITOR', () => (seen.some((a) => a[0]?.toLowerCase() === 'get' && a[1] === marker) ? true : undefined));
    const childReads = seen.filter((a) => a.slice(1).some((k) => k.startsWith(`${prefix}:clair:manifests:`)));
    const byCommand = (name: string) => childReads.filter((a) => a[0]?.toLowerCase() === name);
    expect(byCommand('get')).toHaveLength(0);
    // Every approved digest but the one named directly, in chunks of at most CHILDREN_CHUNK keys.
    const mgets = byCommand('mget');
    expect(mgets).toHaveLength(Math.ceil((N - 1) / CHILDREN_CHUNK));
    expect(mgets.every((a) => a.length - 1 <= CHILDREN_CHUNK)).toBe(true);
    expect(mgets.reduce((n, a) => n + a.length - 1, 0)).toBe(N - 1);
    expect(byCommand('set')).toHaveLength(3);
    expect(JSON.parse((await redis.get(`${prefix}:clair:manifests:${digestOf(N - 1)}`)) ?? 'null')).toEqual([childOf(N - 1)]);
  });
});
