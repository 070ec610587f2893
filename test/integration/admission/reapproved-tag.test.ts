/**
 * A tag moved upstream and approved again with a new digest: a replica loaded from the ledger
 * pins the tag (upstream and internal) to the digest CI's `GET /v1/approved` gives for it, the
 * newest, not the oldest approval that ever had it; still after the old digest is revoked; and to
 * an older approval when the ledger's tag index names it (a tag moved back upstream). Real Redis,
 * approvals recorded as the intake pipeline records them, the API's revocation, HTTPS replicas.
 */
import { RedisApprovalStore, type Approval } from '../../../src/store';
import { startTestApp, type TestApp } from '../../harness/app';
import { containers, podReview } from '../../unit/admission/reviews';
import { review, startReplica, type Replica } from './replica';

const D1 = `sha256:${'c'.repeat(64)}`;
const D2 = `sha256:${'d'.repeat(64)}`;
const INTERNAL = 'registry.internal/approved/payments/docker.io/library/nginx';
const namespaces = { 'payments-*': 'payments' };

function approval(digest: string, approvedAt: string, internalTag: string): Approval {
  return {
    team: 'payments', digest, image: 'docker.io/library/nginx', tags: [], platforms: [],
    internalRef: `${INTERNAL}@${digest}`, internalRepository: 'approved/payments/docker.io/library/nginx', internalTag,
    approvedAt, approvedBy: ['ann'], requestId: `r-${digest.slice(-4)}`,
  };
}

const patchOf = (p?: string): string[] => (p ? (JSON.parse(Buffer.from(p, 'base64').toString()) as Array<{ value: string }>).map((o) => o.value) : []);

describe('a re-approved tag in the webhook', () => {
  let app: TestApp;
  let approvals: RedisApprovalStore;
  const replicas: Replica[] = [];

  /** As Pipeline.promote records an approval: the record (no tags of its own yet), then its source tag's index entry. */
  async function promote(a: Approval, tag: string): Promise<void> {
    await approvals.put(a);
    await approvals.addTag({ team: a.team, image: a.image, platforms: [] }, tag, a.digest);
  }

  async function ci(tag: string): Promise<string | undefined> {
    const r = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(`docker.io/library/nginx:${tag}`)}&team=payments`);
    return r.body.internalRef as string | undefined;
  }

  /** What a replica started now pins `images` to, one review each. */
  async function pins(...images: string[]): Promise<string[][]> {
    const replica = await startReplica(app.config.redis.url, app.config.redis.prefix, { namespaces });
    replicas.push(replica);
    return Promise.all(images.map(async (image) => patchOf((await review(replica.h.port, podReview('payments-prod', containers(image)), 'mutate')).response.patch)));
  }

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { webhook: { namespaces } } });
    approvals = new RedisApprovalStore(app.redis, app.config.redis.prefix);
  });
  afterAll(async () => {
    for (const r of replicas) await r.stop();
    await app.stop();
  });

  it('is pinned to the digest CI gets for it, upstream and internal, also after the old digest is revoked', async () => {
    await promote(approval(D1, '2026-11-01T00:00:00.000Z', '1.25'), '1.25');
    // The tag moved upstream; the new digest was requested, scanned, approved and promoted.
    await promote(approval(D2, '2026-12-01T00:00:00.000Z', '1.25'), '1.25');
    expect(await ci('1.25')).toBe(`${INTERNAL}@${D2}`);
    expect(await pins('nginx:1.25', `${INTERNAL}:1.25`)).toEqual([[`${INTERNAL}@${D2}`], [`${INTERNAL}@${D2}`]]);

    // The old digest revoked (a CVE the new build fixed): the tag stays approved as D2.
    const r = await app.call('paymentsAdmin', 'POST', '/v1/approvals/revoke', { team: 'payments', digest: D1, reason: 'CVE fixed in the newer build' });
    expect(r.status).toBe(200);
    expect(await ci('1.25')).toBe(`${INTERNAL}@${D2}`);
    expect(await pins('nginx:1.25', `${INTERNAL}:1.25`)).toEqual([[`${INTERNAL}@${D2}`], [`${INTERNAL}@${D2}`]]);
  });

  it('is pinned to an older approval when the ledger\'s tag index names it', async () => {
    // `stable` named D2 when D2 was promoted from it; then it moved back upstream to D2's
    // predecessor, approved before: the pipeline's resolve points the index at that approval
    // (a tag it never had), and D2 keeps listing `stable`.
    const D0 = `sha256:${'e'.repeat(64)}`;
    const D3 = `sha256:${'f'.repeat(64)}`;
    await promote(approval(D0, '2026-11-15T00:00:00.000Z', 'digest-e'), 'edge');
    await promote(approval(D3, '2026-12-02T00:00:00.000Z', 'stable'), 'stable');
    await approvals.addTag({ team: 'payments', image: 'docker.io/library/nginx', platforms: [] }, 'stable', D0);
    expect(await ci('stable')).toBe(`${INTERNAL}@${D0}`);
    expect(await pins('nginx:stable')).toEqual([[`${INTERNAL}@${D0}`]]);
  });
});
