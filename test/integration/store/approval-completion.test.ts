/**
 * The ledger's guards against a revoked digest staying approved, on real Redis: a promotion's
 * completed entry is written only if nothing took the promotion back since it started (one
 * script checks the pending entry, the deny-list and the request's state with the write), and
 * CI's lookup refuses an approval whose digest the team's deny-list covers, whatever let it
 * stay in the ledger.
 */
import Redis from 'ioredis';
import { ApprovedService } from '../../../src/intake';
import { RedisApprovalStore, RedisRequestStore, RedisRevocationStore, type Approval, type Revocation } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';
import { awaiting } from '../../unit/intake/fakes';

const digest = `sha256:${'a'.repeat(64)}`;
const image = 'docker.io/library/nginx';
const scope = { team: 'payments', image, platforms: [] };
const ci = { name: 'ci', roles: ['ci' as const], teams: ['payments'] };

function record(over: Partial<Approval> = {}): Approval {
  return {
    team: 'payments', digest, image, tags: [], platforms: [], internalRef: `reg.test/approved/payments/${image}@${digest}`,
    internalRepository: `approved/payments/${image}`, internalTag: '1', approvedAt: '2026-12-01T00:00:00.000Z', approvedBy: ['bob'], requestId: 'r1', ...over,
  };
}

function denial(over: Partial<Revocation> = {}): Revocation {
  return { team: 'payments', digest, by: 'root', at: '2026-12-02T00:00:00.000Z', reason: 'malware', ...over };
}

describe('the ledger guards on real Redis', () => {
  let redis: Redis;
  let prefix: string;
  let approvals: RedisApprovalStore;
  let requests: RedisRequestStore;
  let revocations: RedisRevocationStore;

  beforeEach(() => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('completion');
    approvals = new RedisApprovalStore(redis, prefix);
    requests = new RedisRequestStore(redis, prefix);
    revocations = new RedisRevocationStore(redis, prefix);
  });
  afterEach(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A request promoting, and the pending entry its promotion wrote. */
  async function promoting(): Promise<{ completed: Approval; pending: Approval }> {
    await requests.create(awaiting({ id: 'r1', status: 'promoting' }));
    const completed = record();
    const pending = { ...completed, pending: true };
    await approvals.put(pending);
    return { completed, pending };
  }

  describe('a promotion\'s completed entry', () => {
    it('is written while its pending entry, the request and the deny-list are as the promotion left them', async () => {
      const { completed, pending } = await promoting();
      // Another image name's deny entry does not concern this one.
      await revocations.add(denial({ image: 'docker.io/acme/nginx' }), []);
      expect(await approvals.complete(completed, pending)).toBe(true);
      expect((await approvals.get('payments', image, digest))?.pending).toBeUndefined();
      expect(await approvals.lookup(scope, { digest })).toMatchObject({ requestId: 'r1', digest });
      expect((await approvals.list('payments', { limit: 10 })).items.map((a) => a.requestId)).toEqual(['r1']);
    });

    it('is refused once a revocation or a withdrawn promotion removed the pending entry', async () => {
      const { completed, pending } = await promoting();
      await approvals.remove('payments', image, digest);
      expect(await approvals.complete(completed, pending)).toBe(false);
      expect(await approvals.get('payments', image, digest)).toBeNull();
      expect((await approvals.list('payments', { limit: 10 })).items).toEqual([]);
    });

    it('is refused while the deny-list covers the digest, for every name or for this image', async () => {
      const { completed, pending } = await promoting();
      await revocations.add(denial(), []);
      expect(await approvals.complete(completed, pending)).toBe(false);
      expect((await approvals.get('payments', image, digest))?.pending).toBe(true);
      await revocations.remove('payments', digest, undefined, () => []);
      await revocations.add(denial({ image }), []);
      expect(await approvals.complete(completed, pending)).toBe(false);
      expect(await approvals.lookup(scope, { digest })).toBeNull();
    });

    it('is refused once the request left promoting (failed, revoked)', async () => {
      const { completed, pending } = await promoting();
      await requests.transition('r1', ['promoting'], 'failed', (r) => r);
      expect(await approvals.complete(completed, pending)).toBe(false);
      expect((await approvals.get('payments', image, digest))?.pending).toBe(true);
    });

    it('is refused when another run rewrote the entry since (not the one this run wrote)', async () => {
      const { completed, pending } = await promoting();
      await approvals.put({ ...pending, approvedAt: '2026-12-01T00:00:05.000Z' });
      expect(await approvals.complete(completed, pending)).toBe(false);
      expect(await approvals.complete({ ...completed, approvedAt: '2026-12-01T00:00:05.000Z' }, { ...pending, approvedAt: '2026-12-01T00:00:05.000Z' })).toBe(true);
    });
  });

  describe('CI\'s lookup', () => {
    it('refuses an approval whose digest the team denies, by digest and by tag, as REVOKED with who, when and why', async () => {
      await approvals.put(record({ tags: ['1'] }));
      await approvals.addTag(scope, '1', digest);
      const approved = new ApprovedService({ approvals });
      expect((await approved.lookup(ci, `${image}:1`, 'payments')).digest).toBe(digest);
      // The state no revocation leaves (its script removes the entry), which this guards against.
      await revocations.add(denial(), []);
      for (const ref of [`${image}:1`, `${image}@${digest}`]) {
        await expect(approved.lookup(ci, ref, 'payments')).rejects.toMatchObject({
          code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest, revokedBy: 'root', revocationReason: 'malware' },
        });
      }
      // Lifted: served again.
      await revocations.remove('payments', digest, undefined, () => []);
      expect((await approved.lookup(ci, `${image}@${digest}`, 'payments')).digest).toBe(digest);
    });

    it('refuses a re-encoded approval looked up by its upstream digest when the approved digest is denied to its name', async () => {
      const upstream = `sha256:${'e'.repeat(64)}`;
      await approvals.put(record({ sourceDigest: upstream }));
      const approved = new ApprovedService({ approvals });
      expect((await approved.lookup(ci, `${image}@${upstream}`, 'payments')).digest).toBe(digest);
      await revocations.add(denial({ image }), []);
      await expect(approved.lookup(ci, `${image}@${upstream}`, 'payments')).rejects.toMatchObject({ code: 'NOT_APPROVED', details: { reason: 'REVOKED', digest } });
      // Another name's approval of the same digest is not denied by this entry.
      await approvals.put(record({ image: 'docker.io/acme/nginx' }));
      expect((await approved.lookup(ci, `docker.io/acme/nginx@${digest}`, 'payments')).digest).toBe(digest);
    });
  });
});
