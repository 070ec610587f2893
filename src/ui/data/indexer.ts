/**
 * Keeps the finding index (src/store/redis-finding-index.ts) current: a request is indexed when
 * its scans end (it moves to awaiting_approval, or fails on policy), and `backfill` indexes
 * every request scanned before the index existed (the API runs it once at start, in the
 * background). Both are idempotent.
 */
import type { DomainEvent, EventHandler } from '../../intake';
import type { Logger } from '../../lib/logger';
import type { FindingIndex } from '../../store';
import type { RequestStore } from '../../store/types';

const AFTER_SCAN = new Set(['awaiting_approval', 'failed', 'promoting', 'approved', 'rejected']);

export function findingIndexer(requests: Pick<RequestStore, 'get'>, index: FindingIndex, logger?: Logger): EventHandler {
  return async (event: DomainEvent): Promise<void> => {
    if (event.type !== 'request.status_changed' || !AFTER_SCAN.has(String(event.details.to))) return;
    const id = event.target.replace(/^request\//, '');
    const r = await requests.get(id);
    if (!r || r.scans.length === 0) return;
    await index.index(r).catch((err: unknown) => logger?.warn({ error: err }, 'finding index not updated'));
  };
}

function scanned(r: { scans: readonly unknown[]; status: string }): boolean {
  return r.scans.length > 0 && AFTER_SCAN.has(r.status);
}

/** Indexes every scanned request not yet indexed; returns how many it indexed. */
export async function backfillFindingIndex(requests: Pick<RequestStore, 'get' | 'list'>, index: FindingIndex): Promise<number> {
  // Terms indexed before prefix search existed (idempotent, once per store).
  await index.backfillTerms();
  let done = 0;
  let cursor: string | undefined;
  do {
    const page = await requests.list({ teams: '*', limit: 200, cursor, order: 'asc' });
    const candidates = page.items.filter(scanned);
    const known = await index.indexed(candidates.map((r) => r.id));
    for (const [i, summary] of candidates.entries()) {
      if (known[i]) continue;
      const r = await requests.get(summary.id);
      if (r && (await index.index(r))) done += 1;
    }
    cursor = page.next ?? undefined;
  } while (cursor);
  return done;
}
