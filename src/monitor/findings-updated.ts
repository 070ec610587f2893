/**
 * The `findings.updated` event (BOARD contract: health re-evaluates on it), published by
 * everything that stores a new report for an approved digest (the re-match, ./rematch.ts; a
 * rescan, ./rescan-store.ts) when its findings differ from the previous report's: one event
 * per team and image the digest is approved for, in order. The report and the event it owes are
 * written together (./findings-outbox.ts), so a pass that dies before publishing, or whose
 * publish failed (published `required`: health is critical for it), still publishes, later.
 */
import type { DomainEvent } from '../intake';
import type { Finding } from '../scanners/types';
import type { ApprovedDigest } from './approved-digests';
import { findingKey, sameKeys } from './rematch-text';

export const FINDINGS_UPDATED = 'findings.updated';

/** A finding's identity for "did the findings change": advisory and where it was found. */
export function sameFindings(a: readonly Finding[], b: readonly Finding[]): boolean {
  return sameKeys(a.map(findingKey), b.map(findingKey));
}

export interface FindingsEvents {
  /**
   * With `required`, throws unless every subscriber critical to the event handled it (the
   * audit log, and approval health for `findings.updated`: ../intake/events.ts).
   */
  publish(event: DomainEvent, options?: { required?: boolean }): Promise<void>;
}

/**
 * Publishes `findings.updated` for each approval of `approved` (a report of `scanner` at
 * `dbVersion` changed its findings). `eventId`: the outbox record's id; each approval's event
 * carries `<id>:<team>/<repository>`, the same when the event is published again (a receiver
 * drops a repeat by it, and one team's event is never taken for another's). Published
 * `required`: a health re-evaluation or audit append that failed throws here, so the writer
 * leaves the event owed (./findings-outbox.ts) and its pass or job fails and is retried, rather
 * than the approval waiting unevaluated for the hourly full sweep. Every approval is tried
 * before the first failure is thrown: one team whose evaluation keeps failing does not hold
 * back another team's event.
 */
export async function publishFindingsUpdated(
  events: FindingsEvents,
  approved: ApprovedDigest,
  scanner: string,
  dbVersion: string | undefined,
  eventId?: string,
): Promise<void> {
  let failure: unknown;
  for (const { team, repository } of approved.approvals) {
    try {
      await events.publish({
        type: FINDINGS_UPDATED, actor: 'system', target: `approval/${team}/${approved.digest}`,
        details: { team, repository, digest: approved.digest, scanner, dbVersion, ...(eventId ? { eventId: `${eventId}:${team}/${repository}` } : {}) },
      }, { required: true });
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
}
