/**
 * Break-glass exceptions in the validating decision: an active exception of the namespace's team
 * admits an image that would be denied, by digest or by name and tag (a `name:tag` only, never a
 * `name:tag@digest`), in its namespace only, and
 * says so in a warning naming it, its reason and expiry; by the replica's clock, an expired one is
 * ignored. Approved images need none, other teams' exceptions never apply.
 */
import { ApprovedSet, type ApprovedEntry } from '../../../src/admission/approved-set';
import { validate, type AdmissionState } from '../../../src/admission/decide';
import { ExceptionSet, type AdmissionException } from '../../../src/admission/exceptions';
import { NamespaceMap } from '../../../src/admission/namespaces';
import { parseAdmissionReview, type AdmissionRequest } from '../../../src/admission/review';
import { containers, deploymentReview, podReview } from './reviews';

const D1 = `sha256:${'1'.repeat(64)}`;
const D9 = `sha256:${'9'.repeat(64)}`;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const nginx: ApprovedEntry = { team: 'payments', image: 'docker.io/library/nginx', digest: D1, internalRef: `registry.internal/approved/payments/docker.io/library/nginx@${D1}`, tags: ['1.25'], internalTag: '1.25' };
const base = { team: 'payments', reason: 'INC-4711 card outage', by: 'sec-admin', at: '2026-12-01T11:00:00Z', expires: '2026-12-01T14:00:00.000Z' };
const byTag: AdmissionException = { ...base, id: 'a'.repeat(16), image: 'ghcr.io/acme/hotfix', tag: '1.2.3', namespace: 'payments-prod' };
const byDigest: AdmissionException = { ...base, id: 'b'.repeat(16), digest: D9 };

function state(exceptions: AdmissionException[], now = NOW): AdmissionState {
  return {
    set: ApprovedSet.from([nginx], [{ team: 'payments', digest: D9, reason: 'malware', by: 'sec', at: '2026-11-30T10:00:00Z' }]),
    namespaces: new NamespaceMap({ 'payments-*': 'payments', logistics: 'logistics' }, ['kube-system']),
    exceptions: ExceptionSet.from(exceptions), clock: () => now,
  };
}
const req = (r: Record<string, unknown>): AdmissionRequest => parseAdmissionReview(r);

describe('break-glass exceptions in validation', () => {
  it('admit the excepted image with a warning naming the exception, its reason and expiry', () => {
    const d = validate(req(podReview('payments-prod', containers(nginx.internalRef, 'ghcr.io/acme/hotfix:1.2.3'))), state([byTag]));
    expect(d.allowed).toBe(true);
    expect(d.warnings).toEqual([`container c1 image ghcr.io/acme/hotfix:1.2.3 (NOT_APPROVED) admitted by break-glass exception ${byTag.id} of team payments, granted by sec-admin: "INC-4711 card outage"; it expires at 2026-12-01T14:00:00.000Z`]);
    expect(d.images.map((i) => i.verdict)).toEqual(['approved', 'EXCEPTION']);
    expect(d.images[1].exception).toBe(byTag.id);
  });

  it('cover only their namespace, their tag and their team; a denied image beside them still denies', () => {
    expect(validate(req(podReview('payments-dev', containers('ghcr.io/acme/hotfix:1.2.3'))), state([byTag])).allowed).toBe(false);
    expect(validate(req(podReview('payments-prod', containers('ghcr.io/acme/hotfix:1.2.4'))), state([byTag])).allowed).toBe(false);
    expect(validate(req(podReview('logistics', containers(`quay.io/x/y@${D9}`))), state([byDigest])).allowed).toBe(false);
    const mixed = validate(req(podReview('payments-prod', containers('ghcr.io/acme/hotfix:1.2.3', 'quay.io/other:1'))), state([byTag]));
    expect(mixed).toMatchObject({ allowed: false, message: expect.stringContaining('quay.io/other:1: NOT_APPROVED') });
  });

  it('by tag never cover a reference that carries a digest: the runtime pulls the digest, not the tag', () => {
    for (const image of [`ghcr.io/acme/hotfix:1.2.3@${D9}`, `ghcr.io/acme/hotfix:1.2.3@sha256:${'e'.repeat(64)}`]) {
      const d = validate(req(podReview('payments-prod', containers(image))), state([byTag]));
      expect(d).toMatchObject({ allowed: false, images: [{ image, verdict: image.endsWith(D9) ? 'REVOKED' : 'NOT_APPROVED' }] });
      expect(d.warnings).toBeUndefined();
    }
    // An exception by digest under a name still covers that digest written with any tag.
    const pinned: AdmissionException = { ...base, id: 'c'.repeat(16), image: 'ghcr.io/acme/hotfix', digest: D9 };
    expect(validate(req(podReview('payments-prod', containers(`ghcr.io/acme/hotfix:1.2.3@${D9}`))), state([pinned])).allowed).toBe(true);
  });

  it('by digest cover a revoked digest under any name, in every namespace of the team', () => {
    const d = validate(req(podReview('payments-dev', containers(`quay.io/x/y@${D9}`))), state([byDigest]));
    expect(d).toMatchObject({ allowed: true, warnings: [expect.stringContaining('(REVOKED) admitted by break-glass exception')] });
    expect(validate(req(podReview('payments-dev', containers('quay.io/x/y:1'))), state([byDigest])).allowed).toBe(false);
  });

  it('are ignored from their expiry on, by the replica clock', () => {
    const pod = req(podReview('payments-prod', containers('ghcr.io/acme/hotfix:1.2.3')));
    expect(validate(pod, state([byTag], Date.parse(byTag.expires) - 1)).allowed).toBe(true);
    expect(validate(pod, state([byTag], Date.parse(byTag.expires))).allowed).toBe(false);
  });

  it('turn a workload controller\'s warning into the exception\'s', () => {
    const d = validate(req(deploymentReview('payments-prod', ['ghcr.io/acme/hotfix:1.2.3'])), state([byTag]));
    expect(d.warnings).toEqual([expect.stringContaining(`admitted by break-glass exception ${byTag.id}`)]);
  });
});
