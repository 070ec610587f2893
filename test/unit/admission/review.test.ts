/**
 * The server's field-by-field review check and the zod schema that documents the review agree:
 * on real reviews and on each way one can be malformed, both accept or both refuse, and the
 * check names the field.
 */
import { admissionReviewSchema, MalformedReview, parseAdmissionReview } from '../../../src/admission/review';
import { containers, deploymentReview, podReview } from './reviews';

type Obj = Record<string, any>;
const pod = (): Obj => podReview('payments-prod', containers('nginx:1.25'));
const at = (mutate: (r: Obj) => void): Obj => { const r = pod(); mutate(r); return r; };

const cases: Array<[string, unknown]> = [
  ['a Pod CREATE', pod()],
  ['a Pod UPDATE', podReview('payments-prod', containers('nginx:1.25'), { operation: 'UPDATE', oldSpec: containers('nginx:1.24') })],
  ['ephemeral containers', podReview('payments-prod', containers('nginx:1.25'), { operation: 'UPDATE', subResource: 'ephemeralcontainers' })],
  ['a Deployment', deploymentReview('payments-prod', ['nginx:1.25'])],
  ['no namespace, no name (cluster-scoped)', at((r) => { delete r.request.namespace; delete r.request.name; })],
  ['extra fields at every level', at((r) => { r.extra = 1; r.request.requestSubResource = ''; r.request.userInfo.extra = { scopes: ['x'] }; })],
  ['not an object', 'review'],
  ['null', null],
  ['an array', [pod()]],
  ['v1beta1', at((r) => { r.apiVersion = 'admission.k8s.io/v1beta1'; })],
  ['another kind', at((r) => { r.kind = 'AdmissionResponse'; })],
  ['no request', at((r) => { delete r.request; })],
  ['request is a list', at((r) => { r.request = []; })],
  ['empty uid', at((r) => { r.request.uid = ''; })],
  ['a uid too long', at((r) => { r.request.uid = 'u'.repeat(129); })],
  ['a numeric uid', at((r) => { r.request.uid = 7; })],
  ['kind without version', at((r) => { delete r.request.kind.version; })],
  ['kind a string', at((r) => { r.request.kind = 'Pod'; })],
  ['resource without resource', at((r) => { delete r.request.resource.resource; })],
  ['no resource', at((r) => { delete r.request.resource; })],
  ['subResource a number', at((r) => { r.request.subResource = 1; })],
  ['subResource null', at((r) => { r.request.subResource = null; })],
  ['namespace too long', at((r) => { r.request.namespace = 'n'.repeat(254); })],
  ['name null', at((r) => { r.request.name = null; })],
  ['unknown operation', at((r) => { r.request.operation = 'PATCH'; })],
  ['no operation', at((r) => { delete r.request.operation; })],
  ['no userInfo', at((r) => { delete r.request.userInfo; })],
  ['groups not strings', at((r) => { r.request.userInfo.groups = [1]; })],
  ['username a number', at((r) => { r.request.userInfo.username = 1; })],
  ['object a list', at((r) => { r.request.object = []; })],
  ['object a string', at((r) => { r.request.object = 'pod'; })],
  ['object null', at((r) => { r.request.object = null; })],
  ['oldObject a number', at((r) => { r.request.oldObject = 3; })],
  ['options a list', at((r) => { r.request.options = []; })],
  ['dryRun a string', at((r) => { r.request.dryRun = 'false'; })],
];

describe('parseAdmissionReview', () => {
  it.each(cases)('agrees with the schema on %s', (_what, review) => {
    const schema = admissionReviewSchema.safeParse(review).success;
    let checked: boolean;
    try {
      parseAdmissionReview(review);
      checked = true;
    } catch (err) {
      expect(err).toBeInstanceOf(MalformedReview);
      checked = false;
    }
    expect(checked).toBe(schema);
  });

  it('returns the request itself and names the offending field', () => {
    const r = pod();
    expect(parseAdmissionReview(r)).toBe(r.request);
    expect(() => parseAdmissionReview(at((x) => { x.request.userInfo.groups = [1]; }))).toThrow('request.userInfo.groups');
    expect(() => parseAdmissionReview(at((x) => { delete x.request.uid; }))).toThrow('request.uid: Required');
  });
});
