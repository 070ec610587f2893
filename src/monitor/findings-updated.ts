/**
 * The `findings.updated` event (BOARD contract: health re-evaluates on it), published by
 * everything that stores a new report for an approved digest (the re-match, ./rematch.ts; a
 * rescan, ./rescan-store.ts) when its findings differ from the previous report's: one event
 * per team and image the digest is approved for, in order.
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

/** Publishes `findings.updated` for each approval of `approved` (a report of `scanner` at `dbVersion` changed its findings). */
export async function publishFindingsUpdated(
  events: { publish(event: DomainEvent): Promise<void> },
  approved: ApprovedDigest,
  scanner: string,
  dbVersion: string | undefined,
): Promise<void> {
  for (const { team, repository } of approved.approvals) {
    await events.publish({
      type: FINDINGS_UPDATED, actor: 'system', target: `approval/${team}/${approved.digest}`,
      details: { team, repository, digest: approved.digest, scanner, dbVersion },
    });
  }
}
