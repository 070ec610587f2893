/**
 * The admission ledger's writer: a review never waits on it. Records are buffered and written in
 * batches; repeated identical allows are sampled; a full buffer drops and counts instead of
 * growing or blocking; a failed write is counted and dropped. A Pod's workload is its controller.
 */
import { AdmissionRecorder, workloadOf, type AdmissionRecord, type RecordOutcome } from '../../../src/admission/recorder';
import type { Decision } from '../../../src/admission/decide';
import { parseAdmissionReview } from '../../../src/admission/review';
import { createLogger } from '../../../src/lib/logger';
import { containers, deploymentReview, podReview } from './reviews';

const D1 = `sha256:${'1'.repeat(64)}`;
const IMAGE = `registry.internal/approved/payments/docker.io/library/nginx@${D1}`;
const allowed: Decision = { allowed: true, team: 'payments', images: [{ image: IMAGE, verdict: 'approved', digest: D1 }] };
const denied: Decision = { allowed: false, team: 'payments', message: 'no', images: [{ image: 'nginx:1.26', verdict: 'NOT_APPROVED' }] };

function ownedPod(name: string, owner: { kind: string; name: string }, hash?: string) {
  const r = podReview('payments-prod', containers(IMAGE), { name });
  const meta = (r.request as { object: { metadata: Record<string, unknown> } }).object.metadata;
  if (hash) meta.labels = { 'pod-template-hash': hash };
  meta.ownerReferences = [{ apiVersion: 'apps/v1', ...owner, uid: 'u', controller: true }];
  return parseAdmissionReview(r);
}

function recorder(sink: (batch: readonly AdmissionRecord[]) => Promise<void>, opts: Partial<{ bufferSize: number; batchSize: number; sampleMs: number }> = {}) {
  let now = 1_000_000;
  const counts: Partial<Record<RecordOutcome, number>> = {};
  const r = new AdmissionRecorder({ write: sink }, { bufferSize: 100, batchSize: 10, flushMs: 60_000, sampleMs: 300_000, ...opts, now: () => now },
    (outcome, n) => { counts[outcome] = (counts[outcome] ?? 0) + n; }, createLogger({ level: 'silent' }));
  return { r, counts, advance: (ms: number) => { now += ms; } };
}

describe('workloadOf', () => {
  it('is a Pod\'s Deployment through its ReplicaSet, else its controller, else the object', () => {
    expect(workloadOf(ownedPod('web-5d8f7-abcde', { kind: 'ReplicaSet', name: 'web-5d8f7' }, '5d8f7'))).toMatchObject({ kind: 'Deployment', name: 'web', objectName: 'web-5d8f7-abcde' });
    expect(workloadOf(ownedPod('db-0', { kind: 'StatefulSet', name: 'db' }))).toMatchObject({ kind: 'StatefulSet', name: 'db' });
    expect(workloadOf(ownedPod('rs-x', { kind: 'ReplicaSet', name: 'bare-rs' }))).toMatchObject({ kind: 'ReplicaSet', name: 'bare-rs' });
    expect(workloadOf(parseAdmissionReview(podReview('payments-prod', containers(IMAGE), { name: 'debug' })))).toMatchObject({ kind: 'Pod', name: 'debug' });
    expect(workloadOf(parseAdmissionReview(deploymentReview('payments-prod', [IMAGE])))).toMatchObject({ kind: 'Deployment', name: 'web' });
  });
});

describe('AdmissionRecorder', () => {
  it('samples identical allows per workload and digest, never denials, and writes in batches', async () => {
    const batches: AdmissionRecord[][] = [];
    const { r, counts, advance } = recorder(async (b) => { batches.push([...b]); }, { batchSize: 2 });
    for (const pod of ['web-5d8f7-aaaaa', 'web-5d8f7-bbbbb']) r.record(ownedPod(pod, { kind: 'ReplicaSet', name: 'web-5d8f7' }, '5d8f7'), allowed);
    const debug = parseAdmissionReview(podReview('payments-prod', containers('nginx:1.26'), { name: 'debug' }));
    r.record(debug, denied);
    r.record(debug, denied);
    advance(300_001);
    r.record(ownedPod('web-5d8f7-ccccc', { kind: 'ReplicaSet', name: 'web-5d8f7' }, '5d8f7'), allowed);
    expect(counts.sampled).toBe(1);
    await r.flush();
    expect(batches.map((b) => b.length)).toEqual([2, 2]);
    expect(batches.flat().map((x) => `${x.name}:${x.reason}`)).toEqual(['web-5d8f7-aaaaa:approved', 'debug:NOT_APPROVED', 'debug:NOT_APPROVED', 'web-5d8f7-ccccc:approved']);
    expect(batches[0][0]).toMatchObject({ namespace: 'payments-prod', kind: 'Pod', workload: { kind: 'Deployment', name: 'web' }, team: 'payments', image: IMAGE, digest: D1, allowed: true });
    expect(counts.written).toBe(4);
  });

  it('drops and counts beyond its buffer while the sink is slow, and counts a failed write', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const { r, counts } = recorder(async () => { await gate; throw new Error('Redis away'); }, { bufferSize: 100, batchSize: 100, sampleMs: 0 });
    const review = parseAdmissionReview(podReview('payments-prod', containers('nginx:1.26'), { name: 'x' }));
    for (let i = 0; i < 150; i += 1) r.record(review, denied);
    expect({ buffered: r.buffered, dropped: counts.dropped }).toEqual({ buffered: 100, dropped: 50 });
    const flushing = r.flush();
    // Recording goes on while a write is in flight, without waiting for it.
    r.record(review, denied);
    expect(r.buffered).toBe(1);
    release();
    await flushing;
    expect(counts.failed).toBe(100);
  });

  it('records mutate decisions with the rewrite, sampled apart from validation', async () => {
    const batches: AdmissionRecord[][] = [];
    const { r, counts } = recorder(async (b) => { batches.push([...b]); });
    const pod = () => ownedPod('web-5d8f7-aaaaa', { kind: 'ReplicaSet', name: 'web-5d8f7' }, '5d8f7');
    const pinned: Decision = { allowed: true, team: 'payments', images: [{ image: 'nginx:1.25', verdict: 'PINNED', digest: D1, pinnedTo: IMAGE }, { image: 'ghcr.io/acme/api:2', verdict: 'NOT_APPROVED' }] };
    r.record(pod(), pinned, 'mutate');
    r.record(pod(), pinned, 'mutate');
    // The same Pod validated after the rewrite is a decision of its own, not a repeat of the mutation.
    r.record(pod(), allowed, 'validate');
    // The tag pinned to another digest is not the same decision either.
    const D2 = `sha256:${'2'.repeat(64)}`;
    r.record(pod(), { ...pinned, images: [{ image: 'nginx:1.25', verdict: 'PINNED', digest: D2, pinnedTo: IMAGE.replace(D1, D2) }] }, 'mutate');
    await r.flush();
    expect(counts.sampled).toBe(2);
    expect(batches.flat().map((x) => `${x.endpoint} ${x.image} ${x.reason} ${x.digest ?? '-'}`)).toEqual([
      `mutate nginx:1.25 PINNED ${D1}`, 'mutate ghcr.io/acme/api:2 NOT_APPROVED -', `validate ${IMAGE} approved ${D1}`, `mutate nginx:1.25 PINNED ${D2}`,
    ]);
    expect(batches[0][0]).toMatchObject({ endpoint: 'mutate', namespace: 'payments-prod', workload: { kind: 'Deployment', name: 'web' }, allowed: true, team: 'payments', pinnedTo: IMAGE });
  });

  it('records of a mutation only what the validation of the same Pod does not: an already pinned Pod costs nothing', async () => {
    const batches: AdmissionRecord[][] = [];
    const { r, counts } = recorder(async (b) => { batches.push([...b]); });
    const pod = () => ownedPod('web-5d8f7-aaaaa', { kind: 'ReplicaSet', name: 'web-5d8f7' }, '5d8f7');
    r.record(pod(), allowed, 'mutate');
    r.record(pod(), { allowed: true, images: [{ image: IMAGE, verdict: 'EXEMPT' }, { image: 'nginx:1.26', verdict: 'UNCHANGED' }] }, 'mutate');
    expect({ buffered: r.buffered, sampled: counts.sampled }).toEqual({ buffered: 0, sampled: undefined });
    // The same Pod's validation records it, as the first of its workload and digest (not sampled away).
    r.record(pod(), allowed, 'validate');
    r.record(pod(), { allowed: true, team: 'payments', images: [allowed.images[0], { image: 'nginx:1.26', verdict: 'NOT_APPROVED' }] }, 'mutate');
    await r.flush();
    expect(batches.flat().map((x) => `${x.endpoint} ${x.image} ${x.reason}`)).toEqual([`validate ${IMAGE} approved`, 'mutate nginx:1.26 NOT_APPROVED']);
  });

  it('never samples a break-glass admission away behind a plain allow of the same digest', async () => {
    const batches: AdmissionRecord[][] = [];
    const { r } = recorder(async (b) => { batches.push([...b]); });
    const review = parseAdmissionReview(podReview('payments-prod', containers(IMAGE), { name: 'debug' }));
    r.record(review, allowed);
    r.record(review, { ...allowed, images: [{ image: IMAGE, verdict: 'EXCEPTION', digest: D1, exception: '0123456789abcdef' }] });
    await r.flush();
    expect(batches.flat().map((x) => x.reason)).toEqual(['approved', 'EXCEPTION']);
  });

  it('does not count a dropped record as seen: the next identical allow is recorded', async () => {
    const batches: AdmissionRecord[][] = [];
    const { r, counts } = recorder(async (b) => { batches.push([...b]); }, { bufferSize: 1 });
    const other = parseAdmissionReview(podReview('payments-prod', containers('nginx:1.26'), { name: 'other' }));
    const debug = parseAdmissionReview(podReview('payments-prod', containers(IMAGE), { name: 'debug' }));
    r.record(other, denied);
    r.record(debug, allowed);
    expect(counts.dropped).toBe(1);
    await r.flush();
    r.record(debug, allowed);
    await r.flush();
    expect(batches.flat().map((x) => x.name)).toEqual(['other', 'debug']);
  });
});
