/**
 * Revocation order and the registry job: the ledger entry is gone before the registry delete
 * is queued; the queued delete keeps an image approved again since (after an unrevoke); a
 * digest nothing of the team resolved to cannot be revoked (NOT_APPROVED, nothing denied).
 */
import { EventBus, Lifecycle, RevocationService, unpublishUnlessServed, type UnpublishTask } from '../../../src/intake';
import type { Approval } from '../../../src/store/types';
import { MemoryApprovalStore, MemoryIntakeRegistry, MemoryRequestStore, MemoryRevocationStore } from './fakes';

const admin = { name: 'root', roles: ['admin' as const], teams: ['*'] };
const digest = `sha256:${'a'.repeat(64)}`;
const approval: Approval = {
  team: 'payments', digest, image: 'docker.io/library/nginx', tags: ['1'], platforms: [], internalRef: `reg/approved/payments/docker.io/library/nginx@${digest}`,
  internalRepository: 'approved/payments/docker.io/library/nginx', internalTag: '1', approvedAt: '2026-01-01T00:00:00.000Z', approvedBy: ['bob'], requestId: 'r1',
};

function setup() {
  const approvals = new MemoryApprovalStore();
  const requests = new MemoryRequestStore();
  const revocations = new MemoryRevocationStore(approvals);
  const events = new EventBus();
  const queued: Array<{ task: UnpublishTask; ledgerHadIt: boolean }> = [];
  const service = new RevocationService({
    approvals, requests, revocations, events, lifecycle: new Lifecycle(requests, events),
    cleanup: { unpublish: async (task) => { queued.push({ task, ledgerHadIt: (await approvals.get(task.team, task.image, task.digest)) !== null }); } },
  });
  return { approvals, revocations, service, queued };
}

describe('revocation', () => {
  it('removes the ledger entry before queuing the registry delete, and records the deny entry with its audit record', async () => {
    const { approvals, revocations, service, queued } = setup();
    await approvals.put(approval);
    await service.revoke(admin, { digest, team: 'payments', reason: 'malware' });
    expect(queued).toEqual([{ task: { team: 'payments', image: approval.image, repository: approval.internalRepository, digest }, ledgerHadIt: false }]);
    expect(await revocations.find('payments', approval.image, digest)).toMatchObject({ by: 'root', reason: 'malware' });
    expect(revocations.outbox.map((r) => r.action)).toEqual(['approval.revoked']);
  });

  it('refuses a digest nothing of the team resolved to, and denies nothing', async () => {
    const { revocations, service } = setup();
    await expect(service.revoke(admin, { digest, team: 'payments', reason: 'x' })).rejects.toMatchObject({ code: 'NOT_APPROVED' });
    expect(revocations.items.size).toBe(0);
  });

  it('an automatic revocation keeps the image and never rewrites an entry an admin wrote', async () => {
    const { approvals, revocations, service, queued } = setup();
    const system = { name: 'system', roles: ['admin' as const], teams: ['*'] };
    // An admin's entry for the name, with an approval of it still in the ledger (written around the deny-list).
    await revocations.add({ team: 'payments', digest, image: approval.image, by: 'root', at: '2026-01-02T00:00:00.000Z', reason: 'malware' }, []);
    await approvals.put(approval);
    await service.revoke(system, { image: `${approval.image}@${digest}`, team: 'payments', reason: 'automatic: CVE', keepImage: true });
    expect(await approvals.get('payments', approval.image, digest)).toBeNull();
    expect(queued).toEqual([]);
    expect((await revocations.read('payments', digest)).entries).toEqual([expect.objectContaining({ by: 'root', reason: 'malware' })]);
    expect((await revocations.read('payments', digest)).kept).toEqual([{ image: approval.image, repository: approval.internalRepository, internalRef: approval.internalRef }]);
  });

  it('the queued delete keeps an image approved again since, and deletes one that is not', async () => {
    const approvals = new MemoryApprovalStore();
    const registry = new MemoryIntakeRegistry();
    registry.manifests.set(`${approval.internalRepository}@${digest}`, digest);
    const task = { team: 'payments', image: approval.image, repository: approval.internalRepository, digest };
    await approvals.put(approval);
    expect(await unpublishUnlessServed({ approvals, registry }, task)).toBe('served');
    expect(registry.served(approval.internalRepository)).toHaveLength(1);
    await approvals.remove('payments', approval.image, digest);
    expect(await unpublishUnlessServed({ approvals, registry }, task)).toBe('deleted');
    expect(registry.served(approval.internalRepository)).toEqual([]);
  });
});
