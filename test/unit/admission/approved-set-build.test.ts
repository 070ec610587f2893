/**
 * A full load's set is built in chunks, yielding to the event loop between them (reviews are
 * answered meanwhile from the set already serving), and answers exactly as one built at once.
 */
import { ApprovedSet, type ApprovedEntry, type RevokedEntry } from '../../../src/admission/approved-set';

const digest = (i: number): string => `sha256:${i.toString(16).padStart(64, '0')}`;
const entry = (i: number): ApprovedEntry => ({
  team: `team-${i % 7}`, image: `docker.io/acme/svc-${i}`, digest: digest(i),
  internalRef: `registry.internal/approved/team-${i % 7}/docker.io/acme/svc-${i}@${digest(i)}`, tags: ['1.0'], internalTag: '1.0',
});

it('builds a set in chunks, yielding between them, that answers as one built at once', async () => {
  const approvals = Array.from({ length: 2000 }, (_, i) => entry(i));
  const revoked: RevokedEntry[] = Array.from({ length: 300 }, (_, i) => ({ team: `team-${i % 7}`, digest: digest(5000 + i), reason: 'CVE', by: 'sec', at: '2026-01-01T00:00:00Z' }));
  let turns = 0;
  let counting = true;
  const count = (): void => { if (counting) { turns += 1; setImmediate(count); } };
  setImmediate(count);
  const built = await ApprovedSet.build(approvals, revoked, 250);
  counting = false;
  // 2000 approvals and 300 revocations by 250: the event loop turned between the chunks.
  expect(turns).toBeGreaterThanOrEqual(8);
  const whole = ApprovedSet.from(approvals, revoked);
  expect(built.size).toBe(whole.size);
  for (let i = 0; i < 2000; i += 1) {
    const a = entry(i);
    for (const ref of [a.internalRef, `${a.image}:1.0`, `${a.image}@${a.digest}`]) expect(built.lookup(a.team, ref)).toEqual(whole.lookup(a.team, ref));
  }
  for (const r of revoked) expect(built.lookup(r.team, `docker.io/acme/x@${r.digest}`)).toEqual({ kind: 'revoked', revoked: r });
});
