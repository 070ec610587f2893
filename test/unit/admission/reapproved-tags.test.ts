/**
 * A tag moved upstream and approved again is listed by both approvals (an approval keeps every tag
 * it was ever given): the approved set maps it to the digest the ledger's tag index names, as CI's
 * lookup does, whatever order the snapshot lists the approvals in (the ledger lists the newest
 * first); without the index, to the newest approval. The internal repository's tag alike.
 */
import { ApprovedSet, type ApprovedEntry, type ApprovedTag } from '../../../src/admission/approved-set';
import { mutate } from '../../../src/admission/decide';
import { NamespaceMap } from '../../../src/admission/namespaces';
import { admissionReviewSchema } from '../../../src/admission/review';
import { containers, podReview } from './reviews';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const NAME = 'registry.internal/approved/payments/docker.io/library/nginx';
const nginx = (digest: string, approvedAt: string, tags: string[], internalTag = tags[0]): ApprovedEntry => ({
  team: 'payments', image: 'docker.io/library/nginx', digest, internalRef: `${NAME}@${digest}`, tags, internalTag, approvedAt,
});
const older = nginx(D1, '2026-11-01T00:00:00.000Z', ['1.25']);
const newer = nginx(D2, '2026-12-01T00:00:00.000Z', ['1.25']);
const index = (tag: string, digest: string): ApprovedTag => ({ team: 'payments', image: 'docker.io/library/nginx', tag, digest });
const digestOf = (set: ApprovedSet, image: string): string | undefined => {
  const found = set.lookup('payments', image);
  return found.kind === 'approved' ? found.entry.digest : undefined;
};

describe('a re-approved tag', () => {
  it('names the newest approval without a tag index, in either snapshot order, upstream and internal', () => {
    for (const order of [[newer, older], [older, newer]]) {
      const set = ApprovedSet.from(order, []);
      expect(digestOf(set, 'nginx:1.25')).toBe(D2);
      expect(digestOf(set, `${NAME}:1.25`)).toBe(D2);
    }
    // Approvals without a time: the first listed, as the ledger lists the newest first.
    const undated = (e: ApprovedEntry): ApprovedEntry => ({ ...e, approvedAt: undefined });
    expect(digestOf(ApprovedSet.from([undated(newer), undated(older)], []), 'nginx:1.25')).toBe(D2);
  });

  it('is pinned by mutate to the digest CI gets for it (the ledger lists the newest first)', () => {
    const req = admissionReviewSchema.parse(podReview('payments-prod', containers('nginx:1.25', `${NAME}:1.25`))).request;
    const namespaces = new NamespaceMap({ 'payments-*': 'payments' }, []);
    for (const set of [ApprovedSet.from([newer, older], []), ApprovedSet.from([newer, older], [], [], [index('1.25', D2)])]) {
      expect(mutate(req, { set, namespaces }).patch?.map((op) => op.value)).toEqual([`${NAME}@${D2}`, `${NAME}@${D2}`]);
    }
  });

  it('names the digest the tag index says, even an older approval\'s', () => {
    // `stable` moved back upstream to D1, approved long before: the pipeline pointed the index at
    // D1 (addTag), and D2, promoted from `stable`, still lists it and holds the internal tag.
    const a = nginx(D1, '2026-11-01T00:00:00.000Z', ['1.25', 'stable'], '1.25');
    const b = nginx(D2, '2026-12-01T00:00:00.000Z', ['stable'], 'stable');
    for (const order of [[b, a], [a, b]]) {
      const set = ApprovedSet.from(order, [], [], [index('1.25', D1), index('stable', D1)]);
      expect(digestOf(set, 'nginx:stable')).toBe(D1);
      expect(digestOf(set, 'nginx:1.25')).toBe(D1);
      // The internal tag `stable` is D2's alone (D1 was never promoted under it).
      expect(digestOf(set, `${NAME}:stable`)).toBe(D2);
      expect(digestOf(set, `${NAME}:1.25`)).toBe(D1);
    }
    // Both promoted under the internal tag: the one the index names holds it, not the newest.
    const both = ApprovedSet.from([newer, older], [], [], [index('1.25', D1)]);
    expect(digestOf(both, `${NAME}:1.25`)).toBe(D1);
  });

  it('is not approved when the tag index names no approval loaded, nor when it has no entry for it', () => {
    // The newest approval of the tag was revoked: the index entry went with it, and CI says
    // REVOKED, not the older digest the tag once named.
    const revocation = { team: 'payments', digest: D2, reason: 'r', by: 'sec', at: '2026-12-02T00:00:00Z' };
    const set = ApprovedSet.from([older], [revocation], [{ team: 'payments', image: 'docker.io/library/nginx', tag: '1.25', digest: D2 }], []);
    expect(set.lookup('payments', 'nginx:1.25')).toEqual({ kind: 'revoked', revoked: revocation });
    expect(ApprovedSet.from([older], [], [], [index('1.25', D2)]).lookup('payments', 'nginx:1.25').kind).toBe('unknown');
    // A digest's own internal tag needs no index entry.
    const pinnedOnly = nginx(D1, '2026-11-01T00:00:00.000Z', [], `digest-${'1'.repeat(64)}`);
    expect(digestOf(ApprovedSet.from([pinnedOnly], [], [], []), `${NAME}:digest-${'1'.repeat(64)}`)).toBe(D1);
  });
});
