/**
 * A Pod that names a revoked digest by tag is denied REVOKED with the revocation's reason, as CI's
 * lookup answers, not NOT_APPROVED (which would send its owner to request the image again): by
 * the upstream tag and by the internal repository's tag, right after the announcement (before any
 * reload), after the reload it triggers, and on a replica started afterwards. A later approval of
 * the same tag (another digest) is pinned and admitted again. Real Redis, the API's revocation,
 * HTTPS replicas, AdmissionReview documents as the API server sends them.
 */
import Redis from 'ioredis';
import { ledgerChannel, LedgerSync, NamespaceMap, ledgerAnnouncer } from '../../../src/admission';
import { validate } from '../../../src/admission/decide';
import { parseAdmissionReview } from '../../../src/admission/review';
import { createLogger } from '../../../src/lib/logger';
import { RedisApprovalStore, RedisLedgerSnapshot, type Approval } from '../../../src/store';
import { startTestApp, type TestApp } from '../../harness/app';
import { containers, podReview } from '../../unit/admission/reviews';
import { review, startReplica, within, type Replica } from './replica';

const D1 = `sha256:${'6'.repeat(64)}`;
const D2 = `sha256:${'7'.repeat(64)}`;
const D3 = `sha256:${'8'.repeat(64)}`;
const INTERNAL = 'registry.internal/approved/payments/docker.io/library/nginx';
const TOOL = 'registry.internal/approved/payments/ghcr.io/acme/tool';
const namespaces = { 'payments-*': 'payments' };
const REASON = 'CVE-2026-4242 exploited in the wild';

function approval(digest: string, over: Partial<Approval> = {}): Approval {
  return {
    team: 'payments', digest, image: 'docker.io/library/nginx', tags: ['1.25'], platforms: [],
    internalRef: `${INTERNAL}@${digest}`, internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1.25',
    approvedAt: new Date().toISOString(), approvedBy: ['ann'], requestId: `r-${digest.slice(-4)}`, ...over,
  };
}

/** As the intake pipeline records an approval: the record, then its source tag's entry. */
async function approve(app: TestApp, a: Approval): Promise<void> {
  const approvals = new RedisApprovalStore(app.redis, app.config.redis.prefix);
  await approvals.put(a);
  for (const tag of a.tags) await approvals.addTag({ team: a.team, image: a.image, platforms: [] }, tag, a.digest);
}

/** A digest-only approval: its internal tag is `digest-<hex>`, and it has no source tag. */
const tool = approval(D3, { image: 'ghcr.io/acme/tool', tags: [], internalRef: `${TOOL}@${D3}`, internalRepository: 'approved/payments/ghcr.io/acme/tool', internalTag: `digest-${'8'.repeat(64)}` });

/** Every way a Pod names the revoked digest by tag: upstream short and full, internal, internal digest-only. */
const BY_TAG = ['nginx:1.25', 'docker.io/library/nginx:1.25', `${INTERNAL}:1.25`, `${TOOL}:${tool.internalTag}`];

async function verdict(port: number, image: string): Promise<{ allowed: boolean; message: string }> {
  const body = podReview('payments-prod', containers(image));
  const r = await review(port, body);
  expect(r.status).toBe(200);
  expect(r.response.uid).toBe((body.request as { uid: string }).uid);
  return { allowed: r.response.allowed, message: r.response.status?.message ?? '' };
}

function expectRevoked(v: { allowed: boolean; message: string }, image: string): void {
  expect({ image, allowed: v.allowed }).toEqual({ image, allowed: false });
  expect(v.message).toContain(`image ${image}: REVOKED for team payments by paymentsAdmin`);
  expect(v.message).toContain(REASON);
  expect(v.message).not.toContain('NOT_APPROVED');
}

describe('a revoked digest named by tag', () => {
  let app: TestApp;
  let sub: Redis;
  let early: Replica;
  let announced: LedgerSync;
  const replicas: Replica[] = [];

  beforeAll(async () => {
    app = await startTestApp({ worker: false, config: { webhook: { namespaces } } });
    await approve(app, approval(D1));
    await approve(app, tool);
    early = await startReplica(app.config.redis.url, app.config.redis.prefix, { namespaces });
    replicas.push(early);
    // A view that knows only the ledger as it stood before the revocation, and what it hears
    // announced (no reload for a minute): what the revocation itself carries.
    const ledger = new RedisLedgerSnapshot(app.redis, app.config.redis.prefix);
    const before = { ...(await ledger.snapshot()), revokedTags: await ledger.revokedTags() };
    sub = new Redis(app.config.redis.url);
    announced = new LedgerSync({ snapshot: async () => structuredClone(before) }, sub, ledgerChannel(app.config.redis.prefix),
      { resyncMs: 600_000, maxStalenessMs: 600_000, debounceMs: 60_000 }, createLogger({ level: 'silent' }));
    await announced.start();
  });

  afterAll(async () => {
    announced.stop();
    sub.disconnect();
    for (const r of replicas) await r.stop();
    await app.stop();
  });

  it('is denied REVOKED with the reason, upstream and internal, from the announcement, the reload and a new replica', async () => {
    // Before: approved by tag (validation wants it pinned; mutation pins it).
    expect((await verdict(early.h.port, 'nginx:1.25')).message).toContain('NOT_PINNED');
    expect((await verdict(early.h.port, `${TOOL}:${tool.internalTag}`)).message).toContain('NOT_PINNED');
    for (const image of ['docker.io/library/nginx:1.25', `ghcr.io/acme/tool@${D3}`]) {
      const r = await app.call('paymentsAdmin', 'POST', '/v1/approvals/revoke', { team: 'payments', image, reason: REASON });
      expect(r.status).toBe(200);
    }
    // The announcement alone (this view reloads nothing for a minute).
    const state = () => ({ set: announced.set, namespaces: new NamespaceMap(namespaces, []) });
    await within(1000, 'the revocations were heard', async () => announced.set.lookup('payments', `${TOOL}@${D3}`).kind === 'revoked');
    for (const image of BY_TAG) {
      const d = validate(parseAdmissionReview(podReview('payments-prod', containers(image))), state());
      expectRevoked({ allowed: d.allowed, message: d.message ?? '' }, image);
      expect(d.images).toEqual([{ image, verdict: 'REVOKED', digest: image.includes('tool') ? D3 : D1 }]);
    }
    // The replica that served before, once its reload (the announcement schedules one) has run.
    await within(2000, 'the early replica reloaded', async () => early.h.sync.loads >= 2);
    for (const image of BY_TAG) expectRevoked(await verdict(early.h.port, image), image);
    // A replica started now knows only what the ledger holds.
    const late = await startReplica(app.config.redis.url, app.config.redis.prefix, { namespaces });
    replicas.push(late);
    for (const image of BY_TAG) expectRevoked(await verdict(late.h.port, image), image);
    // Mutation pins nothing to a revoked digest.
    const m = await review(late.h.port, podReview('payments-prod', containers('nginx:1.25')), 'mutate');
    expect({ allowed: m.response.allowed, patch: m.response.patch }).toEqual({ allowed: true, patch: undefined });
  });

  it('admits the tag again once it is approved with another digest', async () => {
    await approve(app, approval(D2, { requestId: 'r-again' }));
    await ledgerAnnouncer(app.redis, ledgerChannel(app.config.redis.prefix))({ type: 'request.status_changed', actor: 'ann', details: { team: 'payments', to: 'approved' } });
    const fresh = await startReplica(app.config.redis.url, app.config.redis.prefix, { namespaces });
    replicas.push(fresh);
    for (const r of replicas) {
      await within(2000, 'the re-approval was loaded', async () => (await verdict(r.h.port, 'nginx:1.25')).message.includes('NOT_PINNED'));
      for (const image of ['nginx:1.25', `${INTERNAL}:1.25`]) {
        const m = await review(r.h.port, podReview('payments-prod', containers(image)), 'mutate');
        const ops = JSON.parse(Buffer.from(m.response.patch ?? '', 'base64').toString()) as Array<{ value: string }>;
        expect(ops.map((o) => o.value)).toEqual([`${INTERNAL}@${D2}`]);
      }
      expect(await verdict(r.h.port, `${INTERNAL}@${D2}`)).toEqual({ allowed: true, message: '' });
      // The old digest stays revoked, by digest.
      expect((await verdict(r.h.port, `${INTERNAL}@${D1}`)).message).toContain(`REVOKED for team payments by paymentsAdmin`);
    }
  });
});
