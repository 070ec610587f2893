/**
 * The images an automatic revocation keeps (`keepImage`), on the real Redis stores: recorded
 * apart from the deny-list entry, so that an unrevoke does not orphan them (an admin's revoke
 * still deletes them), and written only if the state the revoke read is unchanged, so that an
 * automatic revocation racing an admin's neither overwrites the admin's entry nor keeps an
 * image the admin's revoke is deleting.
 */
import { RedisLedgerSnapshot } from '../../../src/store';
import { admin, digest, image, revocationWorld } from './revocation-world';

const system = { name: 'system', roles: ['admin' as const], teams: ['*'] };

describe('images kept by an automatic revocation', () => {
  const { ctx, setup } = revocationWorld('revkept');

  it('an unrevoke leaves the kept image recorded: an admin revoke of the digest then deletes it, once', async () => {
    const { revocations, service, queued, approval } = await setup();
    await service.revoke(system, { image: `${image}@${digest}`, team: 'payments', reason: 'automatic: CVE past its grace', keepImage: true });
    expect(queued).toEqual([]);
    const kept = { image, repository: approval.internalRepository, internalRef: approval.internalRef };
    expect((await revocations.read('payments', digest)).kept).toEqual([kept]);
    // The kept record is no deny entry: the ledger snapshot (admission's source) reads only the entry.
    expect((await new RedisLedgerSnapshot(ctx.redis, ctx.prefix).snapshot()).revoked).toEqual([expect.objectContaining({ by: 'system', image, digest })]);

    await service.unrevoke(admin, { digest, team: 'payments', image, reason: 'false positive' });
    expect((await revocations.read('payments', digest)).entries).toEqual([]);
    expect((await revocations.read('payments', digest)).kept).toEqual([kept]);

    const revoked = await service.revoke(admin, { digest, team: 'payments', reason: 'delete it' });
    expect(revoked).toEqual([{ team: 'payments', digest, image, internalRef: approval.internalRef }]);
    expect(queued).toEqual([{ team: 'payments', image, repository: approval.internalRepository, digest }]);
    expect(await revocations.read('payments', digest)).toMatchObject({ kept: [], entries: [expect.objectContaining({ by: 'root' })] });
    // Nothing is left to revoke.
    await expect(service.revoke(admin, { digest, team: 'payments', reason: 'again' })).rejects.toMatchObject({ code: 'NOT_APPROVED' });
    expect(queued).toHaveLength(1);
  });

  it('an admin revoke between an automatic revoke\'s read and its write: the entry stays the admin\'s, nothing is kept, the image is deleted once', async () => {
    const { revocations, service, queued, approval } = await setup();
    const write = revocations.revoke.bind(revocations);
    let raced = false;
    revocations.revoke = async (entry, approvals, records, intent, change) => {
      if (!raced && entry.by === 'system') {
        raced = true;
        // The admin's revoke runs in full after the automatic one read (its write passes straight through).
        await service.revoke(admin, { digest, team: 'payments', reason: 'malware' });
      }
      return write(entry, approvals, records, intent, change);
    };
    // The automatic revoke reads again, finds nothing approved any more, and writes nothing.
    await expect(service.revoke(system, { image: `${image}@${digest}`, team: 'payments', reason: 'automatic: CVE past its grace', keepImage: true }))
      .rejects.toMatchObject({ code: 'NOT_APPROVED' });
    expect(raced).toBe(true);
    expect((await revocations.read('payments', digest)).entries).toEqual([expect.objectContaining({ by: 'root', reason: 'malware' })]);
    expect((await revocations.read('payments', digest)).entries).toEqual([expect.not.objectContaining({ keptImages: expect.anything() })]);
    expect((await revocations.read('payments', digest)).kept).toEqual([]);
    expect(queued).toEqual([{ team: 'payments', image, repository: approval.internalRepository, digest }]);
  });

  it('an admin revoke whose script committed but whose requests have not moved yet: the racing automatic revoke writes nothing', async () => {
    const { revocations, service, published } = await setup();
    const write = revocations.revoke.bind(revocations);
    const steps = service as unknown as { complete: (intent: unknown) => Promise<void> };
    const complete = steps.complete;
    let raced = false;
    revocations.revoke = async (entry, approvals, records, intent, change) => {
      if (!raced && entry.by === 'system') {
        raced = true;
        // The admin's script commits; its requests still show `approved` (its steps come later).
        steps.complete = async () => undefined;
        try {
          await service.revoke(admin, { digest, team: 'payments', reason: 'malware' });
        } finally {
          steps.complete = complete;
        }
      }
      return write(entry, approvals, records, intent, change);
    };
    const before = published.length;
    await expect(service.revoke(system, { image: `${image}@${digest}`, team: 'payments', reason: 'automatic: CVE past its grace', keepImage: true }))
      .rejects.toMatchObject({ code: 'NOT_APPROVED' });
    expect(raced).toBe(true);
    // Only the admin's digest-wide entry: no `system` entry for the name beside it, no second event.
    expect((await revocations.read('payments', digest)).entries).toEqual([expect.objectContaining({ by: 'root', reason: 'malware' })]);
    expect((await revocations.read('payments', digest)).kept).toEqual([]);
    expect(published.slice(before).filter((e) => (e as { actor?: string }).actor === 'system')).toEqual([]);
  });

  it('many automatic and admin revokes of one digest at once on the real Redis: the image is deleted once, nothing stays kept, the digest-wide entry is the admin\'s', async () => {
    const { revocations, service, queued, approval } = await setup();
    const auto = Array.from({ length: 10 }, () => service.revoke(system, { image: `${image}@${digest}`, team: 'payments', reason: 'automatic: CVE past its grace', keepImage: true }));
    const byAdmin = Array.from({ length: 3 }, () => service.revoke(admin, { digest, team: 'payments', reason: 'malware' }));
    const settled = await Promise.allSettled([...auto, ...byAdmin]);
    // Every refusal is one a revoke may give: nothing left to revoke, or the state kept changing.
    for (const r of settled) if (r.status === 'rejected') expect(['NOT_APPROVED', 'CONFLICT']).toContain((r.reason as { code?: string }).code);
    expect(settled.slice(10).some((r) => r.status === 'fulfilled')).toBe(true);
    const after = await revocations.read('payments', digest);
    expect(after.kept).toEqual([]);
    expect(queued).toEqual([{ team: 'payments', image, repository: approval.internalRepository, digest }]);
    expect(after.entries.filter((e) => e.image === undefined)).toEqual([expect.objectContaining({ by: 'root', reason: 'malware' })]);
  });
});
