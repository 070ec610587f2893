/**
 * The admission ledger on real Redis: a webhook replica records its decisions through the
 * buffered writer (a Deployment's Pods count as one workload, repeated identical allows sampled),
 * `GET /v1/images/{digest}/workloads` answers where the digest runs within the caller's teams:
 * Pods the validating webhook admitted, not a Pod the mutating webhook pinned that validation
 * then denied, nor a Deployment none of whose Pods was admitted; and revoking the digest through
 * the API lists those workloads in its event and audit record.
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import { RedisAdmissionLedger } from '../../../src/admission';
import type { DomainEvent } from '../../../src/intake/events';
import { RedisApprovalStore, type Approval } from '../../../src/store';
import { startTestApp, type TestApp } from '../../harness/app';
import { containers, deploymentReview, podReview } from '../../unit/admission/reviews';
import { review, startReplica, type Replica } from './replica';

const D1 = `sha256:${'5'.repeat(64)}`;
const REF = `registry.internal/approved/payments/docker.io/library/nginx@${D1}`;
const namespaces = { 'payments-*': 'payments', logistics: 'logistics' };

/** A Pod of Job `nightly` as the mutating webhook sees it: not named yet, only `generateName`. */
function jobPod(ns: string, image: string): Record<string, unknown> {
  const r = podReview(ns, containers(image));
  const request = r.request as { name?: string; object: { metadata: Record<string, unknown> } };
  delete request.name;
  const meta = request.object.metadata;
  delete meta.name;
  meta.generateName = 'nightly-';
  meta.ownerReferences = [{ apiVersion: 'batch/v1', kind: 'Job', name: 'nightly', uid: 'u2', controller: true, blockOwnerDeletion: true }];
  return r;
}

/** A Pod made by the ReplicaSet of Deployment `web`, as the API server sends it. */
function replicaSetPod(ns: string, podName: string): Record<string, unknown> {
  const r = podReview(ns, containers(REF), { name: podName });
  const meta = ((r.request as { object: { metadata: Record<string, unknown> } }).object.metadata);
  meta.labels = { app: 'web', 'pod-template-hash': '5d8f7c9b4' };
  meta.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7c9b4', uid: 'u1', controller: true, blockOwnerDeletion: true }];
  return r;
}

/** The review as the API server sends it to the validating webhook: the mutating webhook's patch applied to its object. */
function patched(r: Record<string, unknown>, patch: string | undefined): Record<string, unknown> {
  const request = r.request as { object: unknown };
  const ops = JSON.parse(Buffer.from(patch ?? '', 'base64').toString()) as Operation[];
  return { ...r, request: { ...request, object: applyPatch(structuredClone(request.object), ops, true, false).newDocument } };
}

describe('the admission ledger', () => {
  let app: TestApp;
  let replica: Replica;
  const events: DomainEvent[] = [];

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { webhook: { namespaces } } });
    app.services.events.subscribe((e) => { events.push(e); });
    const approval: Approval = {
      team: 'payments', digest: D1, image: 'docker.io/library/nginx', tags: ['1.25'], platforms: [],
      internalRef: REF, internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1.25',
      approvedAt: new Date().toISOString(), approvedBy: ['ann'], requestId: 'r1',
    };
    // As the intake pipeline records it: the record, then its source tag's entry in the tag index.
    const approvals = new RedisApprovalStore(app.redis, app.config.redis.prefix);
    await approvals.put(approval);
    await approvals.addTag({ team: approval.team, image: approval.image, platforms: [] }, '1.25', D1);
    const ledger = new RedisAdmissionLedger(app.redis, app.config.redis.prefix, { retentionMs: 24 * 3600 * 1000, streamLength: 1000 });
    // A long flush interval: the test flushes itself, so that what is written is known.
    replica = await startReplica(app.config.redis.url, app.config.redis.prefix, { namespaces, ledger: { bufferSize: 1000, batchSize: 2, flushMs: 60_000, sampleMs: 60_000 } }, { ledger });
  });

  afterAll(async () => {
    await replica.stop();
    await app.stop();
  });

  it('records decisions, one workload per Deployment, and answers where a digest runs within teams', async () => {
    for (const pod of ['web-5d8f7c9b4-aaaaa', 'web-5d8f7c9b4-bbbbb', 'web-5d8f7c9b4-ccccc']) {
      expect((await review(replica.h.port, replicaSetPod('payments-prod', pod))).response.allowed).toBe(true);
    }
    expect((await review(replica.h.port, podReview('payments-dev', containers(REF), { name: 'debug' }))).response.allowed).toBe(true);
    expect((await review(replica.h.port, podReview('payments-dev', containers('nginx:1.26'), { name: 'denied' }))).response.allowed).toBe(false);
    // A Deployment review names the same workload as its Pods.
    expect((await review(replica.h.port, deploymentReview('payments-prod', [REF]))).response.allowed).toBe(true);
    // The mutating webhook pins a Job's Pod written by tag; an unapproved tag it leaves (and says so).
    const pinned = await review(replica.h.port, jobPod('payments-stage', 'nginx:1.25'), 'mutate');
    expect(JSON.parse(Buffer.from(pinned.response.patch ?? '', 'base64').toString())).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: REF }]);
    expect((await review(replica.h.port, jobPod('payments-stage', 'nginx:1.25'), 'mutate')).response.patch).toBeDefined();
    expect((await review(replica.h.port, podReview('payments-stage', containers('nginx:1.26'), { name: 'left' }), 'mutate')).response.patch).toBeUndefined();
    // Two more Pods of the same ReplicaSet and the Deployment were sampled: identical allows within
    // sampleMs; so was the second, identical pin of the Job's Pod.
    expect(replica.h.recorder?.buffered).toBe(5);
    // The validating webhook then admits the Job's Pod as mutated: now it runs.
    const job = jobPod('payments-stage', 'nginx:1.25');
    expect((await review(replica.h.port, patched(job, pinned.response.patch))).response.allowed).toBe(true);
    // A Pod whose first image mutate pins but whose second is not approved: validation denies it,
    // so it runs nothing, the pinned digest included.
    const mixed = podReview('payments-stage', containers('nginx:1.25', 'nginx:1.26'), { name: 'mixed' });
    const mixedPin = await review(replica.h.port, mixed, 'mutate');
    expect(mixedPin.response).toMatchObject({ allowed: true, patch: expect.any(String) });
    expect((await review(replica.h.port, patched(mixed, mixedPin.response.patch))).response.allowed).toBe(false);
    // A Deployment is allowed with warnings only; until one of its Pods is admitted it runs nothing.
    const api = deploymentReview('payments-prod', [REF]);
    (api.request as { name: string }).name = 'api';
    expect((await review(replica.h.port, api)).response.allowed).toBe(true);
    expect(replica.h.recorder?.buffered).toBe(11);
    await replica.h.recorder?.flush();
    expect(replica.h.recorder?.buffered).toBe(0);

    const seen = await app.call('dev', 'GET', `/v1/images/${D1}/workloads`);
    expect(seen.status).toBe(200);
    expect(seen.body.workloads.map((w: { namespace: string; kind: string; name: string }) => `${w.namespace}/${w.kind}/${w.name}`).sort())
      .toEqual(['payments-dev/Pod/debug', 'payments-prod/Deployment/web', 'payments-stage/Job/nightly']);
    expect(seen.body.workloads[0]).toMatchObject({ team: 'payments', image: REF, lastSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    // The pinned workload runs the reference it was pinned to, not the tag it was written with.
    expect(seen.body.workloads.find((w: { name: string }) => w.name === 'nightly')).toMatchObject({ kind: 'Job', image: REF });
    // Team isolation: another team sees nothing, and asking for the team by name is a 404.
    expect((await app.call('otherDev', 'GET', `/v1/images/${D1}/workloads`)).body.workloads).toEqual([]);
    expect((await app.call('otherDev', 'GET', `/v1/images/${D1}/workloads?team=payments`)).status).toBe(404);
    expect((await app.call('auditor', 'GET', `/v1/images/${D1}/workloads`)).body.workloads).toHaveLength(3);
    expect((await app.call('dev', 'GET', '/v1/images/sha256:nothex/workloads')).body.error.code).toBe('INVALID_REQUEST');

    // Every decision, denials included, is in the stream of recent decisions.
    const stream = await app.redis.xrange(`${app.config.redis.prefix}:admission:decisions`, '-', '+');
    const records = stream.map(([, fields]) => JSON.parse(fields[1]) as { name: string; allowed: boolean; reason: string; workload: { kind: string; name: string } });
    expect(records.filter((r) => !r.allowed)).toMatchObject([
      { name: 'denied', reason: 'NOT_APPROVED' },
      { name: 'mixed', endpoint: 'validate', image: REF, reason: 'approved', digest: D1 },
      { name: 'mixed', endpoint: 'validate', image: 'nginx:1.26', reason: 'NOT_APPROVED' },
    ]);
    expect(records.find((r) => r.name === 'web-5d8f7c9b4-aaaaa')).toMatchObject({ endpoint: 'validate', allowed: true, reason: 'approved', workload: { kind: 'Deployment', name: 'web' } });
    // Mutate decisions too: the rewrite made, and why none was.
    expect(records.filter((r) => (r as { endpoint?: string }).endpoint === 'mutate')).toMatchObject([
      { name: 'nightly-', image: 'nginx:1.25', reason: 'PINNED', digest: D1, pinnedTo: REF, workload: { kind: 'Job', name: 'nightly' } },
      { name: 'left', image: 'nginx:1.26', reason: 'NOT_APPROVED' },
      { name: 'mixed', image: 'nginx:1.25', reason: 'PINNED', digest: D1, pinnedTo: REF, allowed: true },
      { name: 'mixed', image: 'nginx:1.26', reason: 'NOT_APPROVED', allowed: true },
    ]);
  });

  it('lists the workloads still running the digest in the revocation event and its audit record', async () => {
    const revoked = await app.call('paymentsAdmin', 'POST', '/v1/approvals/revoke', { team: 'payments', digest: D1, reason: 'CVE-2026-9999 exploited' });
    expect(revoked.status).toBe(200);
    const event = events.find((e) => e.type === 'approval.revoked');
    const running = (event?.details.workloads as Array<{ namespace: string; name: string }>).map((w) => `${w.namespace}/${w.name}`).sort();
    expect(running).toEqual(['payments-dev/debug', 'payments-prod/web', 'payments-stage/nightly']);
    const audit = await app.call('auditor', 'GET', '/v1/audit?limit=1000');
    const entry = audit.body.items.find((e: { action: string }) => e.action === 'approval.revoked');
    expect(entry.details.workloads).toHaveLength(3);
  });
});
