/**
 * The approved set's revoked tags: a tag a revocation dropped answers that revocation while its
 * digest stays revoked in the team, whichever way the set learnt of it (the announcement or a
 * load of the ledger's revoked-tag keys); a tag approved again answers its new approval; a lifted
 * revocation leaves the tag merely unknown; another team never sees it.
 */
import { ApprovedSet, type ApprovedEntry, type RevokedEntry, type RevokedTag } from '../../../src/admission/approved-set';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const NAME = 'registry.internal/approved/payments/docker.io/library/nginx';
const nginx = (digest: string): ApprovedEntry => ({ team: 'payments', image: 'docker.io/library/nginx', digest, internalRef: `${NAME}@${digest}`, tags: ['1.25'], internalTag: '1.25' });
const revocation: RevokedEntry = { team: 'payments', digest: D1, image: 'docker.io/library/nginx', reason: 'malware', by: 'sec', at: '2026-12-01T00:00:00Z' };
const tags: RevokedTag[] = [
  { team: 'payments', image: 'docker.io/library/nginx', tag: '1.25', digest: D1 },
  { team: 'payments', image: NAME, tag: '1.25', digest: D1 },
];

describe('revoked tags', () => {
  const heard = ApprovedSet.from([nginx(D1)], []);
  heard.revoke(revocation);
  const loaded = ApprovedSet.from([], [revocation], tags);

  it.each([['heard', heard], ['loaded', loaded]])('answer the revocation by tag, upstream and internal (%s)', (_, set) => {
    for (const image of ['nginx:1.25', 'docker.io/library/nginx:1.25', `${NAME}:1.25`]) expect(set.lookup('payments', image)).toEqual({ kind: 'revoked', revoked: revocation });
    expect(set.lookup('payments', 'nginx:1.26').kind).toBe('unknown');
    expect(set.lookup('logistics', 'nginx:1.25').kind).toBe('unknown');
  });

  it('answer a tag approved again with its new digest', () => {
    const again = ApprovedSet.from([nginx(D2)], [revocation], tags);
    for (const image of ['nginx:1.25', `${NAME}:1.25`]) expect(again.lookup('payments', image)).toMatchObject({ kind: 'approved', entry: { digest: D2 } });
    heard.add(nginx(D2));
    expect(heard.lookup('payments', 'nginx:1.25')).toMatchObject({ kind: 'approved', entry: { digest: D2 } });
  });

  it('leave the tag unknown once the revocation is lifted', () => {
    expect(ApprovedSet.from([], [], tags).lookup('payments', 'nginx:1.25').kind).toBe('unknown');
  });
});
