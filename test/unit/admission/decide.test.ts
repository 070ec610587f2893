/**
 * The admission decisions on real-shaped reviews: mutation pins approved images to their
 * internal digest (the patch applied with an RFC 6902 library, then validated again), validation
 * admits only approved, non-revoked digests of the namespace's team, and says why otherwise.
 */
import { applyPatch, type Operation } from 'fast-json-patch';
import { ApprovedSet, type ApprovedEntry } from '../../../src/admission/approved-set';
import { mutate, validate, type AdmissionState } from '../../../src/admission/decide';
import { NamespaceMap } from '../../../src/admission/namespaces';
import { admissionResponse, admissionReviewSchema, type AdmissionRequest } from '../../../src/admission/review';
import { containers, deploymentReview, podReview } from './reviews';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const D3 = `sha256:${'3'.repeat(64)}`;
const internal = (repo: string, d: string) => `registry.internal/approved/payments/${repo}@${d}`;
const nginx: ApprovedEntry = { team: 'payments', image: 'docker.io/library/nginx', digest: D1, internalRef: internal('docker.io/library/nginx', D1), tags: ['1.25'], internalTag: '1.25' };
const redis: ApprovedEntry = { team: 'payments', image: 'docker.io/library/redis', digest: D2, internalRef: internal('docker.io/library/redis', D2), tags: ['7'], internalTag: '7' };
const arm: ApprovedEntry = { team: 'payments', image: 'docker.io/library/busybox', digest: D3, internalRef: internal('docker.io/library/busybox', D3), tags: ['1.36'], internalTag: '1.36', platforms: ['linux/arm64'] };

function state(extra: Partial<AdmissionState> = {}): AdmissionState {
  return {
    set: ApprovedSet.from([nginx, redis, arm], [{ team: 'payments', digest: `sha256:${'9'.repeat(64)}`, reason: 'malware in layer 3', by: 'sec-admin', at: '2026-11-30T10:00:00Z' }]),
    namespaces: new NamespaceMap({ 'payments-prod': 'payments', 'payments-*': 'payments', 'logistics': 'logistics' }, ['kube-system', 'portcullis']),
    ...extra,
  };
}

const req = (review: Record<string, unknown>): AdmissionRequest => admissionReviewSchema.parse(review).request;

describe('mutate', () => {
  it('pins tags and upstream digests of approved images to the internal digest, in every container list', () => {
    const review = podReview('payments-prod', {
      initContainers: [{ name: 'init', image: 'nginx:1.25' }],
      containers: [{ name: 'web', image: 'docker.io/library/nginx:1.25' }, { name: 'cache', image: `redis@${D2}` }, { name: 'side', image: 'quay.io/other/tool:1' }],
    });
    const d = mutate(req(review), state());
    expect(d.allowed).toBe(true);
    const pod = applyPatch(structuredClone((review.request as { object: unknown }).object), d.patch as Operation[], true, false).newDocument as { spec: { initContainers: Array<{ image: string }>; containers: Array<{ image: string }> } };
    expect(pod.spec.initContainers[0].image).toBe(nginx.internalRef);
    expect(pod.spec.containers.map((c) => c.image)).toEqual([nginx.internalRef, redis.internalRef, 'quay.io/other/tool:1']);
    // The response carries the patch as base64 JSON Patch with the request's uid.
    const res = admissionResponse((review.request as { uid: string }).uid, d);
    expect(res.response).toMatchObject({ uid: (review.request as { uid: string }).uid, allowed: true, patchType: 'JSONPatch' });
    expect(JSON.parse(Buffer.from(res.response.patch!, 'base64').toString())).toEqual(d.patch);

    // Validated again after the patch (reinvocation): the unapproved sidecar alone is denied.
    const again = validate(req(podReview('payments-prod', pod.spec)), state());
    expect(again.allowed).toBe(false);
    expect(again.message).toContain('container side image quay.io/other/tool:1: NOT_APPROVED');
    expect(again.images.filter((i) => i.verdict === 'approved')).toHaveLength(3);
  });

  it('pins the ephemeral containers of kubectl debug (pods/ephemeralcontainers)', () => {
    const spec = { containers: [{ name: 'web', image: nginx.internalRef }], ephemeralContainers: [{ name: 'debugger', image: 'redis:7', targetContainerName: 'web' }] };
    const d = mutate(req(podReview('payments-a', spec, { operation: 'UPDATE', oldSpec: { containers: spec.containers }, subResource: 'ephemeralcontainers' })), state());
    expect(d.patch).toEqual([{ op: 'replace', path: '/spec/ephemeralContainers/0/image', value: redis.internalRef }]);
  });

  it('leaves unapproved images, other teams\' images and unmapped namespaces alone (validation decides)', () => {
    expect(mutate(req(podReview('logistics', containers('nginx:1.25'))), state()).patch).toBeUndefined();
    expect(mutate(req(podReview('default', containers('nginx:1.25'))), state()).patch).toBeUndefined();
    expect(mutate(req(podReview('payments-prod', containers('nginx:1.26'))), state()).patch).toBeUndefined();
    // A platform-selected approval answers no tag (an all-platform pull of the tag is another image).
    expect(mutate(req(podReview('payments-prod', containers('busybox:1.36'))), state()).patch).toBeUndefined();
  });
});

describe('mutate decisions, for the admission ledger', () => {
  it('name per image the rewrite made or why none was', () => {
    const s = state();
    const evil = `registry.internal/approved/payments/docker.io/library/evil@sha256:${'9'.repeat(64)}`;
    const d = mutate(req(podReview('payments-prod', containers('nginx:1.25', redis.internalRef, 'ghcr.io/acme/api:2', evil, 'UPPER/Case:x'))), s);
    expect(d.images).toEqual([
      { image: 'nginx:1.25', verdict: 'PINNED', digest: D1, pinnedTo: nginx.internalRef },
      { image: redis.internalRef, verdict: 'approved', digest: D2 },
      { image: 'ghcr.io/acme/api:2', verdict: 'NOT_APPROVED' },
      { image: evil, verdict: 'REVOKED', digest: `sha256:${'9'.repeat(64)}` },
      { image: 'UPPER/Case:x', verdict: 'INVALID_REFERENCE' },
    ]);
    expect(d).toMatchObject({ allowed: true, team: 'payments', warnings: [`portcullis pinned nginx:1.25 to ${nginx.internalRef}`] });
    expect(d.patch).toEqual([{ op: 'replace', path: '/spec/containers/0/image', value: nginx.internalRef }]);
    // Once its digest is revoked the tag names no approved image: not rewritten; the tag and the digest both say revoked.
    s.set.revoke({ team: 'payments', digest: D1, reason: 'CVE', by: 'sec', at: 'now' });
    expect(mutate(req(podReview('payments-prod', containers('nginx:1.25', nginx.internalRef))), s).images)
      .toEqual([{ image: 'nginx:1.25', verdict: 'REVOKED', digest: D1 }, { image: nginx.internalRef, verdict: 'REVOKED', digest: D1 }]);
  });

  it('on UPDATE, leave the images the Pod already ran (a rewrite would restart its containers)', () => {
    const running = containers('nginx:1.25');
    const d = mutate(req(podReview('payments-prod', { containers: [...(running.containers as object[]), { name: 'c1', image: 'redis:7' }] }, { operation: 'UPDATE', oldSpec: running })), state());
    expect(d.images).toEqual([{ image: 'nginx:1.25', verdict: 'UNCHANGED' }, { image: 'redis:7', verdict: 'PINNED', digest: D2, pinnedTo: redis.internalRef }]);
    expect(d.patch).toEqual([{ op: 'replace', path: '/spec/containers/1/image', value: redis.internalRef }]);
  });

  it('in exempt and unmapped namespaces, rewrite nothing and say so', () => {
    expect(mutate(req(podReview('kube-system', containers('nginx:1.25'))), state())).toEqual({ allowed: true, images: [{ image: 'nginx:1.25', verdict: 'EXEMPT' }] });
    expect(mutate(req(podReview('default', containers('nginx:1.25'))), state())).toEqual({ allowed: true, images: [{ image: 'nginx:1.25', verdict: 'UNMAPPED' }] });
    // Validation's denials there are recorded per image too.
    expect(validate(req(podReview('default', containers('nginx:1.25'))), state()).images).toEqual([{ image: 'nginx:1.25', verdict: 'UNMAPPED' }]);
    expect(validate(req(podReview('payments-prod', containers(nginx.internalRef))), state({ staleSince: '2026-12-01T10:00:00.000Z' })).images).toEqual([{ image: nginx.internalRef, verdict: 'STALE' }]);
  });
});

describe('validate', () => {
  it('admits a Pod whose every image is an approved internal digest of its team', () => {
    const d = validate(req(podReview('payments-prod', containers(nginx.internalRef, redis.internalRef))), state());
    expect(d).toMatchObject({ allowed: true, team: 'payments' });
  });

  it('denies naming each image, the reason and the command that starts its intake', () => {
    const d = validate(req(podReview('payments-prod', containers('nginx:1.25', 'ghcr.io/acme/api:2', `${nginx.internalRef.split('@')[0]}:1.25`))), state());
    expect(d.allowed).toBe(false);
    expect(d.message).toContain(`container c0 image nginx:1.25: NOT_PINNED; use the approved reference ${nginx.internalRef}`);
    expect(d.message).toContain('container c1 image ghcr.io/acme/api:2: NOT_APPROVED for team payments; start its intake with: portcullis request ghcr.io/acme/api:2 --team payments');
    expect(d.message).toContain(`image ${nginx.internalRef.split('@')[0]}:1.25: NOT_PINNED`);
  });

  it('names a Pod without a name yet (generateName) without an empty slot in the message', () => {
    const review = podReview('payments-prod', containers('ghcr.io/acme/api:2'));
    delete (review.request as { name?: string }).name;
    const d = validate(req(review), state());
    expect(d.message).toMatch(/^Portcullis denied Pod in namespace payments-prod: container c0 image ghcr\.io\/acme\/api:2: NOT_APPROVED/);
    const named = validate(req(podReview('payments-prod', containers('ghcr.io/acme/api:2'))), state());
    expect(named.message).toMatch(/^Portcullis denied Pod web-0 in namespace payments-prod: /);
  });

  it('denies a revoked digest with who revoked it, when and why, and another team\'s approval as not approved', () => {
    const revoked = `registry.internal/approved/payments/docker.io/library/evil@sha256:${'9'.repeat(64)}`;
    const d = validate(req(podReview('payments-prod', containers(revoked))), state());
    expect(d.message).toContain('REVOKED for team payments by sec-admin at 2026-11-30T10:00:00Z: malware in layer 3');
    const other = validate(req(podReview('logistics', containers(nginx.internalRef))), state());
    expect(other.allowed).toBe(false);
    expect(other.message).toContain('NOT_APPROVED for team logistics');
  });

  it('a revocation heard at run time denies at once, for every name of the digest', () => {
    const s = state();
    s.set.revoke({ team: 'payments', digest: D1, reason: 'CVE-2026-0001 exploited', by: 'sec', at: '2026-12-01T00:00:00Z' });
    expect(validate(req(podReview('payments-prod', containers(nginx.internalRef))), s).message).toContain('REVOKED for team payments by sec');
    expect(mutate(req(podReview('payments-prod', containers('nginx:1.25'))), s).patch).toBeUndefined();
  });

  it('denies a digest on the team\'s deny-list as REVOKED even when the snapshot still holds its approval', () => {
    const revocation = { team: 'payments', digest: D1, reason: 'malware in layer 3', by: 'sec-admin', at: '2026-12-01T00:00:00Z' };
    // Revoked under nginx's name, or under every name: both win over the approval, by every name and tag.
    for (const r of [revocation, { ...revocation, image: nginx.image }]) {
      const s = state({ set: ApprovedSet.from([nginx, redis], [r]) });
      for (const image of [nginx.internalRef, `docker.io/library/nginx@${D1}`, 'nginx:1.25', `${nginx.internalRef.split('@')[0]}:1.25`]) {
        const d = validate(req(podReview('payments-prod', containers(image, redis.internalRef))), s);
        expect(d).toMatchObject({ allowed: false, images: [{ image, verdict: 'REVOKED', digest: D1 }, { verdict: 'approved' }] });
        expect(d.message).toContain('REVOKED for team payments by sec-admin at 2026-12-01T00:00:00Z: malware in layer 3');
        expect(mutate(req(podReview('payments-prod', containers(image))), s)).toMatchObject({ images: [{ verdict: 'REVOKED', digest: D1 }] });
        expect(mutate(req(podReview('payments-prod', containers(image))), s).patch).toBeUndefined();
      }
    }
    // A revocation of another name of the digest, or in another team, leaves this approval alone.
    const other = state({ set: ApprovedSet.from([nginx], [{ ...revocation, image: 'docker.io/library/other' }, { ...revocation, team: 'logistics' }]) });
    expect(validate(req(podReview('payments-prod', containers(nginx.internalRef))), other).allowed).toBe(true);
  });

  it('fails closed in a namespace that maps to no team; exempt namespaces pass with a warning', () => {
    const d = validate(req(podReview('default', containers(nginx.internalRef))), state());
    expect(d).toMatchObject({ allowed: false, message: expect.stringContaining('namespace default maps to no Portcullis team') });
    const ex = validate(req(podReview('kube-system', containers('registry.k8s.io/coredns/coredns:v1.11.1'))), state());
    expect(ex).toMatchObject({ allowed: true, warnings: [expect.stringContaining('exempt')] });
  });

  it('gives workload controllers warnings, not denials', () => {
    const d = validate(req(deploymentReview('payments-prod', ['nginx:1.26'])), state());
    expect(d.allowed).toBe(true);
    expect(d.warnings?.[0]).toMatch(/^Deployment web: container c0 image nginx:1\.26: NOT_APPROVED.*its Pods will be denied/);
  });

  it('judges only changed images on UPDATE: a revocation never stops a running Pod from being relabelled', () => {
    const s = state();
    s.set.revoke({ team: 'payments', digest: D1, reason: 'r', by: 'sec', at: 'now' });
    const spec = containers(nginx.internalRef);
    expect(validate(req(podReview('payments-prod', spec, { operation: 'UPDATE', oldSpec: spec })), s).allowed).toBe(true);
    expect(validate(req(podReview('payments-prod', containers('nginx:1.26'), { operation: 'UPDATE', oldSpec: spec })), s).allowed).toBe(false);
  });

  describe('on UPDATE, an image is unchanged only in the container that ran it', () => {
    const revokedRef = internal('docker.io/library/evil', `sha256:${'9'.repeat(64)}`);

    it('judges a new ephemeral container (kubectl debug) whose image another container runs', () => {
      const old = { containers: [{ name: 'web', image: revokedRef }] };
      const spec = { ...old, ephemeralContainers: [{ name: 'debugger', image: revokedRef, targetContainerName: 'web' }] };
      const review = req(podReview('payments-prod', spec, { operation: 'UPDATE', oldSpec: old, subResource: 'ephemeralcontainers' }));
      const d = validate(review, state());
      expect(d).toMatchObject({ allowed: false, message: expect.stringContaining(`container debugger image ${revokedRef}: REVOKED`) });
      expect(d.images.map((i) => i.verdict)).toEqual(['UNCHANGED', 'REVOKED']);
      expect(mutate(review, state()).images.map((i) => i.verdict)).toEqual(['UNCHANGED', 'REVOKED']);
    });

    it('judges a container switched to an image another container ran, and one moved to another list', () => {
      const old = { containers: [{ name: 'c0', image: revokedRef }, { name: 'c1', image: redis.internalRef }] };
      const switched = { containers: [{ name: 'c0', image: revokedRef }, { name: 'c1', image: revokedRef }] };
      const d = validate(req(podReview('payments-prod', switched, { operation: 'UPDATE', oldSpec: old })), state());
      expect(d.allowed).toBe(false);
      expect(d.images.map((i) => i.verdict)).toEqual(['UNCHANGED', 'REVOKED']);
      // Same name, another list: a container the Pod did not have.
      const moved = { initContainers: [{ name: 'c0', image: revokedRef }], containers: [{ name: 'c1', image: redis.internalRef }] };
      expect(validate(req(podReview('payments-prod', moved, { operation: 'UPDATE', oldSpec: old })), state()).images.map((i) => i.verdict)).toEqual(['REVOKED', 'UNCHANGED']);
      // Mutate pins what it judges anew, even when another container already ran the tag.
      const tagOld = { containers: [{ name: 'c0', image: 'redis:7' }, { name: 'c1', image: nginx.internalRef }] };
      const tagNew = { containers: [{ name: 'c0', image: 'redis:7' }, { name: 'c1', image: 'redis:7' }] };
      expect(mutate(req(podReview('payments-prod', tagNew, { operation: 'UPDATE', oldSpec: tagOld })), state()).patch)
        .toEqual([{ op: 'replace', path: '/spec/containers/1/image', value: redis.internalRef }]);
    });

    it('compares a workload\'s pod template container by container too', () => {
      const update = (oldImages: string[], images: string[]) => {
        const r = deploymentReview('payments-prod', images) as { request: Record<string, unknown> };
        const old = (deploymentReview('payments-prod', oldImages) as { request: { object: unknown } }).request.object;
        return req({ ...r, request: { ...r.request, operation: 'UPDATE', oldObject: old, options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' } } });
      };
      expect(validate(update([revokedRef, redis.internalRef], [revokedRef, redis.internalRef]), state())).toMatchObject({ allowed: true, images: [{ verdict: 'UNCHANGED' }, { verdict: 'UNCHANGED' }] });
      expect(validate(update([revokedRef, redis.internalRef], [revokedRef, revokedRef]), state()).warnings).toEqual([expect.stringMatching(/^Deployment web: container c1 image .*: REVOKED .*its Pods will be denied/)]);
    });
  });

  it('denies every Pod while the replica\'s view is too stale to trust', () => {
    const d = validate(req(podReview('payments-prod', containers(nginx.internalRef))), state({ staleSince: '2026-12-01T10:00:00.000Z' }));
    expect(d).toMatchObject({ allowed: false, message: expect.stringContaining('failing closed') });
  });

  it('refuses malformed reviews and objects with a code', () => {
    expect(admissionReviewSchema.safeParse({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} }).success).toBe(false);
    const bad = podReview('payments-prod', { containers: 'nginx' });
    expect(() => validate(req(bad), state())).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });
});
