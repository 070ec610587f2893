/**
 * `findings.updated` goes to every approval of a digest, each with its own stable event id,
 * even when one team's publish fails (issue 13: the outbox must not let one team's failing
 * re-evaluation hold back another team's event).
 */
import type { DomainEvent } from '../../../src/intake';
import { publishFindingsUpdated } from '../../../src/monitor/findings-updated';

describe('publishFindingsUpdated', () => {
  const approved = { digest: `sha256:${'a'.repeat(64)}`, approvals: [{ team: 'payments', repository: 'app' }, { team: 'cards', repository: 'app' }] };

  it('publishes every approval when an earlier one fails, then throws the first failure', async () => {
    const published: DomainEvent[] = [];
    const boom = new Error('payments health failed');
    const events = {
      publish: async (e: DomainEvent) => {
        if (e.details?.team === 'payments') throw boom;
        published.push(e);
      },
    };
    await expect(publishFindingsUpdated(events, approved, 'builtin', 'v2', 'rec-1')).rejects.toBe(boom);
    expect(published.map((e) => e.details)).toEqual([expect.objectContaining({ team: 'cards', digest: approved.digest, eventId: 'rec-1:cards/app' })]);
  });

  it('gives each approval its own event id, the same when published again', async () => {
    const ids: unknown[] = [];
    const events = { publish: async (e: DomainEvent) => { ids.push(e.details?.eventId); } };
    await publishFindingsUpdated(events, approved, 'builtin', 'v2', 'rec-1');
    await publishFindingsUpdated(events, approved, 'builtin', 'v2', 'rec-1');
    expect(ids).toEqual(['rec-1:payments/app', 'rec-1:cards/app', 'rec-1:payments/app', 'rec-1:cards/app']);
  });
});
