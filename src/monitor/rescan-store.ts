/**
 * What a rescan (Clair notifier re-read, Harbor or builtin rescan) does with its report,
 * exactly as the re-match does (./rematch.ts, BOARD contract): the report is stored where
 * scan reports live (per digest and scanner), and when its findings differ from the previous
 * report a `findings.updated {team, repository, digest, scanner, dbVersion}` event is published
 * for every team and image the digest is approved for; health re-evaluates on it. A failed
 * scan is never stored over a good report. The report is written only over the one its findings
 * were compared with (else read again: a report stored meanwhile may have other findings), with
 * the event it owes, in one script (./findings-outbox.ts), and the event is settled once
 * published: a rescan that dies in between, or whose publish failed (a health re-evaluation
 * that failed: this throws, and the run stops to be retried), leaves it owed; its retry finds the
 * report stored and unchanged, and publishes the event still owed for it (a writer racing the
 * retry may publish it too: the repeat carries the same id). A rescan never retried leaves it
 * to the health sweep (its next run after the 60 s grace; every `monitor.sweepEvery`).
 */
import type { Logger } from '../lib/logger';
import type { ScanReport, ScanTarget } from '../scanners/types';
import type { ApprovalStore, RequestStore } from '../store/types';
import type { RegistryClient } from '../registry/types';
import type { ApprovedDigest } from './approved-digests';
import { publishPending, type FindingsOutbox } from './findings-outbox';
import { sameFindings, type FindingsEvents } from './findings-updated';

export interface RescanSink {
  /** Where `findings.updated` goes, published `required`: a failed re-evaluation throws, the event stays owed. */
  events: FindingsEvents;
  /** Where a report is read, and written with the `findings.updated` it owes. */
  outbox: Pick<FindingsOutbox, 'current' | 'record' | 'storeReport' | 'settle' | 'owedFor'>;
  /** Told of a settle that failed after a publish did (the publish's error is the one thrown). */
  logger?: Pick<Logger, 'error'>;
}

/** How often a rescan's report is compared and written again when other reports keep landing first. */
const STORE_ATTEMPTS = 8;

/** `superseded`: other reports were stored each time this one was about to be; they stand, with the events they owe. */
export type RescanOutcome = 'failed' | 'same' | 'changed' | 'superseded';

export async function storeRescan(d: RescanSink, approved: ApprovedDigest, report: ScanReport, dbVersion: () => Promise<string>): Promise<RescanOutcome> {
  if (report.status !== 'succeeded') return 'failed';
  const saved: ScanReport = { ...report, dbVersion: report.dbVersion ?? await dbVersion() };
  for (let attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
    const previous = await d.outbox.current(saved.scanner, approved.digest);
    const same = !!previous && sameFindings(previous.report.findings, saved.findings);
    const owed = same ? null : d.outbox.record(approved, saved.scanner, saved.dbVersion);
    if (!(await d.outbox.storeReport(approved.digest, saved, owed, previous?.sha1 ?? null))) continue;
    // Same findings: nothing new to tell, unless an earlier run of this rescan wrote them and
    // died (or failed to publish) before telling: that event is still owed, and this run owes it.
    const due = owed ?? await d.outbox.owedFor(saved.scanner, approved.digest);
    if (due) await publishPending(d.events, d.outbox, [due], d.logger);
    return owed ? 'changed' : 'same';
  }
  return 'superseded';
}

/** How an approved digest is reached for a rescan: its approved copy in the internal registry. */
export interface RescanTargets {
  approvals: Pick<ApprovalStore, 'get'>;
  requests: Pick<RequestStore, 'get'>;
  internal: RegistryClient;
  internalUrl: string;
}

/**
 * The scan target of an approved digest when it is still approved (completed, not revoked)
 * and `scanner` scanned it for one of its approvals (a scanner added later never did: its
 * report would not count for health, ../monitor/health.ts); null otherwise.
 */
export async function approvedTarget(d: RescanTargets, approved: ApprovedDigest, scanner: string): Promise<ScanTarget | null> {
  let target: ScanTarget | null = null;
  let scanned = false;
  for (const { team, repository } of approved.approvals) {
    const approval = await d.approvals.get(team, repository, approved.digest);
    if (!approval || approval.pending) continue;
    target ??= { registry: d.internal, repository: approval.internalRepository, digest: approved.digest, registryUrl: d.internalUrl };
    if (!scanned) scanned = (await d.requests.get(approval.requestId))?.scans.some((s) => s.scanner === scanner) ?? false;
    if (scanned) break;
  }
  return scanned ? target : null;
}
