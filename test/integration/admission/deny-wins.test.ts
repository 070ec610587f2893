/**
 * The team's deny-list wins over the ledger: a digest with a deny entry is denied REVOKED (who,
 * when, why) even when its approval is still in the snapshot a replica loads (a snapshot read
 * while a revocation ran, or a deny entry written ahead of any approval), by every name and tag;
 * mutate pins none of them. A deny entry of another name of the digest leaves the approval
 * alone. Real Redis, the store's own writes, an HTTPS replica loaded from the ledger.
 */
import { RedisApprovalStore, RedisRevocationStore, type Approval } from '../../../src/store';
import { startTestApp, type TestApp } from '../../harness/app';
import { containers, podReview } from '../../unit/admission/reviews';
import { review, startReplica, type Replica } from './replica';

const D1 = `sha256:${'a'.repeat(64)}`;
const D2 = `sha256:${'b'.repeat(64)}`;
const NGINX = 'registry.internal/approved/payments/docker.io/library/nginx';
const REDIS = 'registry.internal/approved/payments/docker.io/library/redis';
const namespaces = { 'payments-*': 'payments' };

function approval(image: string, internal: string, digest: string): Approval {
  return {
    team: 'payments', digest, image, tags: ['1'], platforms: [],
    internalRef: `${internal}@${digest}`, internalRepository: internal.slice('registry.internal/'.length), internalTag: '1',
    approvedAt: '2026-12-01T00:00:00.000Z', approvedBy: ['ann'], requestId: `r-${digest.slice(-4)}`,
  };
}

describe('a deny-listed digest whose approval the ledger still holds', () => {
  let app: TestApp;
  let replica: Replica;

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { webhook: { namespaces } } });
    const approvals = new RedisApprovalStore(app.redis, app.config.redis.prefix);
    const denied = new RedisRevocationStore(app.redis, app.config.redis.prefix);
    for (const a of [approval('docker.io/library/nginx', NGINX, D1), approval('docker.io/library/redis', REDIS, D2)]) {
      await approvals.put(a);
      await approvals.addTag({ team: a.team, image: a.image, platforms: [] }, '1', a.digest);
    }
    // A deny entry beside the approvals, which stay in the ledger: every name of D1, and one
    // other name of D2 (redis itself stays approved).
    await denied.add({ team: 'payments', digest: D1, by: 'sec-admin', at: '2026-12-02T00:00:00.000Z', reason: 'malware in layer 3' }, []);
    await denied.add({ team: 'payments', digest: D2, image: 'docker.io/library/other', by: 'sec-admin', at: '2026-12-02T00:00:00.000Z', reason: 'not this one' }, []);
    replica = await startReplica(app.config.redis.url, app.config.redis.prefix, { namespaces });
  });
  afterAll(async () => {
    await replica?.stop();
    await app.stop();
  });

  it('is denied REVOKED by every name and tag, and mutate pins none of them', async () => {
    for (const image of [`${NGINX}@${D1}`, `docker.io/library/nginx@${D1}`, 'nginx:1', `${NGINX}:1`]) {
      const v = await review(replica.h.port, podReview('payments-prod', containers(image)));
      expect({ image, allowed: v.response.allowed }).toEqual({ image, allowed: false });
      expect(v.response.status?.message).toContain(`image ${image}: REVOKED for team payments by sec-admin at 2026-12-02T00:00:00.000Z: malware in layer 3`);
      const m = await review(replica.h.port, podReview('payments-prod', containers(image)), 'mutate');
      expect({ image, patch: m.response.patch }).toEqual({ image, patch: undefined });
    }
  });

  it('leaves an approval alone when the deny entry names another image of its digest', async () => {
    expect((await review(replica.h.port, podReview('payments-prod', containers(`${REDIS}@${D2}`)))).response.allowed).toBe(true);
  });
});
