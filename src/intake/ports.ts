/**
 * What the intake pipeline needs from the outside, as narrow interfaces: the registries
 * (through the registry module, adapted in registry-gateway.ts), the job queue, and policy.
 * main.ts passes implementations in.
 */
import { AppError } from '../lib/errors';
import type { ImageRef } from '../registry';
import type { RegistryClient } from '../registry/types';
import type { ScanReport } from '../scanners/types';
import type { IntakeRequest, PolicyOutcome } from '../store/types';

/** What staging put into quarantine. */
export interface StageResult {
  /** The digest the internal registry serves: the request's identity from now on. */
  digest: string;
  /** The digest the source served (the pinned upstream digest). */
  sourceDigest: string;
  /** Whether the mover copies byte for byte; if so, a differing digest is a fault. */
  preservesDigest: boolean;
  /** The mover's name, for the audit log. */
  mover: string;
}

/** The registry operations of the pipeline. */
export interface IntakeRegistry {
  /**
   * Resolves a reference (tag or digest) to its manifest digest at the upstream, through the
   * upstream's reverse proxy; for a digest reference this proves the digest exists there.
   * @throws AppError UPSTREAM_NOT_ALLOWED for a registry not configured, or the internal registry.
   */
  resolve(ref: ImageRef): Promise<string>;
  /**
   * Copies `source` (pinned by digest) into `repository` of the internal registry, by
   * digest, never tagged; returns the digest the internal registry serves.
   * @throws AppError UPSTREAM_NOT_ALLOWED when `source` is not on an allowed upstream
   * (the internal registry never is).
   */
  stage(source: ImageRef & { digest: string }, repository: string, platforms: string[]): Promise<StageResult>;
  /**
   * Makes `digest` visible in `toRepository` under `tag`: blobs mounted from
   * `fromRepository`, manifests by digest, the tag last. Idempotent.
   */
  promote(fromRepository: string, toRepository: string, digest: string, tag: string): Promise<void>;
  /** The digest `repository:tag` resolves to in the internal registry, or null. */
  internalDigest(repository: string, tag: string): Promise<string | null>;
  /** Deletes `digest` (and so every tag on it) from `repository` of the internal registry. */
  unpublish(repository: string, digest: string): Promise<void>;
  /** A client of the internal registry, for the scanners. */
  readonly internal: RegistryClient;
  /** The internal registry's base URL as scanners reach it. */
  readonly internalUrl: string;
}

export type PipelineStep = 'resolve' | 'stage' | 'scan' | 'promote';

/**
 * One run at a time of each step of a request (src/store/redis-step-leases.ts): BullMQ hands a
 * job out again when its lock lapses, and a worker too busy to renew the lock is still running
 * the step; the second run must not stage, scan or promote beside the first.
 */
export interface StepLeases {
  /** The lease of `step` of `requestId`, held and renewed until released; null when another run holds it. */
  acquire(step: PipelineStep, requestId: string): Promise<StepLease | null>;
  /**
   * How long the current holder's lease runs without a renewal (null: nobody holds it): a run
   * turned away retries then, so a dead holder's step resumes as soon as its lease lapses.
   */
  remainingMs?(step: PipelineStep, requestId: string): Promise<number | null>;
}

export interface StepLease {
  /** False once the lease lapsed under its holder (stalled longer than its TTL). */
  held(): boolean;
  /** Frees the lease if it is still this run's; never throws. */
  release(): Promise<void>;
}

/** An image to take out of the internal registry once the ledger no longer serves it. */
export interface UnpublishTask {
  team: string;
  /** The approval's image name (`registry/repository`). */
  image: string;
  repository: string;
  digest: string;
}

/**
 * Takes images out of the internal registry later, retrying until the registry agrees (a
 * queued job: queue/unpublish.ts), so that a registry fault never stops a revocation.
 */
export interface RegistryCleanup {
  unpublish(task: UnpublishTask): Promise<void>;
}

/**
 * Queues the next step of a request; adding a step that is already queued or running is
 * harmless (job ids are derived from step and request), and a step whose earlier job ended
 * (failed, completed) is queued afresh.
 */
export interface JobScheduler {
  /** `team`, when known, lets the queue keep one team's burst from holding others back. */
  schedule(step: PipelineStep, requestId: string, team?: string): Promise<void>;
}

/** Schedules `step`; a queue fault becomes 503 DEPENDENCY_UNAVAILABLE (the caller may retry). */
export async function enqueue(scheduler: JobScheduler, step: PipelineStep, requestId: string, team?: string): Promise<void> {
  try {
    await scheduler.schedule(step, requestId, team);
  } catch (err) {
    throw new AppError('DEPENDENCY_UNAVAILABLE', `could not queue ${step} of request ${requestId}`, { cause: err, temporary: true });
  }
}

/** Tells whether a step's job is queued, delayed or running, for the sweep of stuck requests. */
export interface JobInspector {
  isLive(step: PipelineStep, requestId: string): Promise<boolean>;
}

/**
 * Findings, the request's code scans and waivers → verdict. Synchronous, so that it can run
 * inside a store update (approval re-checks the verdict in the same compare-and-set).
 * intake/policy.ts provides the real one over the policy module.
 */
export type PolicyEvaluator = (input: { request: IntakeRequest; reports: readonly ScanReport[] }) => PolicyOutcome;

/** Where images go in the internal registry, and who must approve. */
export interface IntakeSettings {
  quarantinePrefix: string;
  /** Template with {team}, {registry}, {repository}. */
  approvedPath: string;
  /** Host CI pulls from, for internal references. */
  publicHost: string;
  /** Distinct approvers needed. @defaultValue 1 */
  approvalsRequired: number;
  /** A failing verdict: `reject` fails the request (POLICY_FAILED), `flag` queues it flagged. @defaultValue 'flag' */
  onPolicyFail: 'reject' | 'flag';
  /**
   * The stage job goes on into the scan (under the scan's lease) instead of queuing it, so that
   * the scan runs in the process that holds the staged layers in memory. @defaultValue false when absent (the config's `worker.scanAfterStage` defaults to true)
   */
  scanAfterStage?: boolean;
}
