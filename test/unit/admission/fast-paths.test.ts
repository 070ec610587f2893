/**
 * The review path's shortcuts answer exactly as the general code they stand in for: the approved
 * set's lookup of a reference as written (no parse) agrees with the parsed lookup, including
 * after revocations, for references that are not canonical and where two approvals' keys meet;
 * the allow written from a string template is the document the general response builder makes.
 */
import { ApprovedSet, type ApprovedEntry } from '../../../src/admission/approved-set';
import { containerImages } from '../../../src/admission/images';
import { parsedReference } from '../../../src/admission/references';
import { admissionResponse, admissionResponseJson } from '../../../src/admission/review';
import { containers, deploymentReview, podReview } from './reviews';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const entry = (team: string, image: string, digest: string, internalRef: string): ApprovedEntry => ({ team, image, digest, internalRef, tags: ['1'], internalTag: '1' });

const nginx = entry('payments', 'docker.io/library/nginx', d('1'), `registry.internal/approved/payments/docker.io/library/nginx@${d('1')}`);
const redis = entry('payments', 'docker.io/library/redis', d('2'), `registry.internal/approved/payments/docker.io/library/redis@${d('2')}`);
// Not canonical: a capitalised host (parsed, it is lower case) and a tag beside the digest.
const upperHost = entry('payments', 'docker.io/library/busybox', d('3'), `Registry.Internal/approved/payments/docker.io/library/busybox@${d('3')}`);
const tagged = entry('payments', 'docker.io/library/alpine', d('4'), `registry.internal/approved/payments/docker.io/library/alpine:3@${d('4')}`);
// Another approval whose upstream name is nginx's internal repository: its `image@digest` key is nginx's internal reference.
const mirror = entry('payments', 'registry.internal/approved/payments/docker.io/library/nginx', d('1'), `registry.internal/approved/payments/registry.internal/approved/payments/docker.io/library/nginx@${d('1')}`);
const logistics = entry('logistics', 'docker.io/library/nginx', d('5'), `registry.internal/approved/logistics/docker.io/library/nginx@${d('5')}`);

const probes = [nginx, redis, upperHost, tagged, mirror, logistics].flatMap((e) => [e.internalRef, `${e.image}@${e.digest}`, `${e.image}:1`])
  .concat([`registry.internal/approved/payments/docker.io/library/nginx@${d('9')}`, 'nginx:1.25', 'not a reference']);

/** What the parsed lookup says of `image`, where it says "approved internal digest". */
function parsedPinned(set: ApprovedSet, team: string, image: string): ApprovedEntry | undefined {
  const ref = parsedReference(image);
  const found = ref ? set.lookup(team, ref) : { kind: 'invalid' as const };
  return found.kind === 'approved' && found.internal && found.pinned ? found.entry : undefined;
}

function agree(set: ApprovedSet): void {
  for (const team of ['payments', 'logistics', 'nobody']) {
    for (const image of probes) expect({ team, image, entry: set.pinned(team, image) }).toEqual({ team, image, entry: parsedPinned(set, team, image) });
  }
}

describe('ApprovedSet.pinned', () => {
  it('agrees with the parsed lookup on every reference, in either order of the approvals', () => {
    const all = [nginx, redis, upperHost, tagged, mirror, logistics];
    const set = ApprovedSet.from(all, []);
    agree(set);
    agree(ApprovedSet.from([...all].reverse(), []));
    // It does answer the canonical ones (or it would agree by answering nothing).
    expect(set.pinned('payments', redis.internalRef)).toBe(redis);
    expect(ApprovedSet.from([nginx], []).pinned('payments', nginx.internalRef)).toBe(nginx);
    expect(set.pinned('payments', upperHost.internalRef)).toBeUndefined();
    expect(set.pinned('payments', tagged.internalRef)).toBeUndefined();
  });

  it('agrees after revocations of a digest, of one name of it, and with revocations loaded', () => {
    const set = ApprovedSet.from([mirror, nginx, redis, logistics], [{ team: 'payments', digest: d('2'), reason: 'r', by: 'sec', at: 'now' }]);
    agree(set);
    expect(set.pinned('payments', nginx.internalRef)).toBe(nginx);
    set.revoke({ team: 'payments', digest: d('1'), image: mirror.image, reason: 'r', by: 'sec', at: 'now' });
    agree(set);
    set.revoke({ team: 'payments', digest: d('1'), reason: 'r', by: 'sec', at: 'now' });
    agree(set);
    expect(set.pinned('payments', nginx.internalRef)).toBeUndefined();
  });
});

describe('admissionResponseJson', () => {
  const uids = ['705ab4f5-6393-11e8-b7cc-42010a800002', 'a "quoted" \\ uid', 'ünïcødé ✓', 'line\nbreak\u2028'];
  it.each(uids)('writes the same document as the general builder (uid %j)', (uid) => {
    const decisions = [
      { allowed: true },
      { allowed: true, warnings: [] as string[], patch: [] },
      { allowed: true, warnings: ['namespace kube-system is exempt'] },
      { allowed: true, warnings: ['pinned'], patch: [{ op: 'replace' as const, path: '/spec/containers/0/image', value: nginx.internalRef }] },
      { allowed: false, message: 'Portcullis denied Pod web-0' },
    ];
    for (const dec of decisions) expect(admissionResponseJson(uid, dec)).toBe(JSON.stringify(admissionResponse(uid, dec)));
  });
});

describe('containerImages', () => {
  it('gives each image its JSON Pointer, in Pods and in workload templates', () => {
    const pod = podReview('payments-prod', { initContainers: [{ name: 'i', image: 'a' }], containers: [{ name: 'c0', image: 'b' }, { name: 'c1', image: 'c' }], ephemeralContainers: [{ name: 'e', image: 'd' }] });
    expect(containerImages('Pod', (pod.request as { object: Record<string, unknown> }).object).map((c) => `${c.path} ${c.name} ${c.image}`))
      .toEqual(['/spec/initContainers/0/image i a', '/spec/containers/0/image c0 b', '/spec/containers/1/image c1 c', '/spec/ephemeralContainers/0/image e d']);
    const dep = deploymentReview('payments-prod', ['x', 'y']);
    expect(containerImages('Deployment', (dep.request as { object: Record<string, unknown> }).object).map((c) => c.path)).toEqual(['/spec/template/spec/containers/0/image', '/spec/template/spec/containers/1/image']);
    // A kind is the client's string: an inherited property name is no kind.
    expect(containerImages('constructor', (podReview('p', containers('x')).request as { object: Record<string, unknown> }).object)).toEqual([]);
  });
});
