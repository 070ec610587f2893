/**
 * The pipeline steps, one method per job: resolving → staging → scanning →
 * awaiting_approval, and promoting → approved. Every step is idempotent: it works only when
 * the request is in the step's state, and when the request is already past it (a job run
 * twice, a crash between a save and the next enqueue) it only makes sure the next job is
 * queued. Errors are AppErrors; the queue layer decides between retry and failure.
 */
import { AppError, toAppError } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { parseReference, type ImageRef } from '../registry';
import { requestDigest, type Approval, type ApprovalStore, type ExpectedApproval, type IntakeRequest, type PolicyOutcome, type RequestStatus, type RequestStore, type RevocationStore, type SourceRef } from '../store/types';
import { Lifecycle, digestClaimKey, nextStep } from './lifecycle';
import { findApproval } from './ledger';
import { approvedRepository, approvedTag, quarantineRepository, sourceName } from './paths';
import type { IntakeRegistry, IntakeSettings, JobInspector, JobScheduler, PipelineStep, PolicyEvaluator, StepLeases } from './ports';
import { withPublishLock, type PublishLocks } from './publish-lock';
import { revokedError } from './revocation';
import type { ScanRunner } from './scanning';
import { sweepStuck, type SweepOptions } from './sweep';

/** Thrown when a concurrent request for the same team and digest is running: retry later. */
export class RunInProgress extends Error {
  constructor(readonly holderId: string, message = `request ${holderId} is already taking this digest through the pipeline`) {
    super(message);
    this.name = 'RunInProgress';
  }
}

/**
 * Thrown when another run of the same step of the same request holds its lease (BullMQ handed
 * the job out again while the first run was still busy): the queue waits and retries, as for
 * RunInProgress; by then the first run has moved the request on, or it died and its lease lapsed.
 */
export class StepInProgress extends RunInProgress {
  /** @param retryInMs when the holder's lease lapses unless renewed (unknown: undefined) */
  constructor(readonly requestId: string, readonly step: PipelineStep, readonly retryInMs?: number) {
    super(requestId, `another run of ${step} of request ${requestId} is still going: waiting for it`);
    this.name = 'StepInProgress';
  }
}

/** Told how long each step a {@link Pipeline.run} ran took and how it ended (metrics). */
export type StepObserver = (step: PipelineStep, seconds: number, outcome: 'ok' | 'error') => void;

async function timed<T>(step: PipelineStep, observe: StepObserver | undefined, work: () => Promise<T>): Promise<T> {
  if (!observe) return work();
  const started = performance.now();
  let outcome: 'ok' | 'error' = 'error';
  try {
    const result = await work();
    outcome = 'ok';
    return result;
  } finally {
    observe(step, (performance.now() - started) / 1000, outcome);
  }
}

export interface PipelineDeps {
  requests: RequestStore;
  approvals: ApprovalStore;
  /** The deny-list: a request whose digest an admin revoked fails with REVOKED. @defaultValue none */
  revocations?: Pick<RevocationStore, 'find'>;
  registry: IntakeRegistry;
  /** The configured scanners, with stored-report reuse. */
  scans: ScanRunner;
  policy: PolicyEvaluator;
  scheduler: JobScheduler;
  lifecycle: Lifecycle;
  settings: IntakeSettings;
  logger: Logger;
  /** One run at a time of each step of a request. @defaultValue none (tests of a single run) */
  leases?: StepLeases;
  /** One publish or unpublish at a time of an image in an approved repository (publish-lock.ts). @defaultValue none */
  publishLocks?: PublishLocks;
}

export class Pipeline {
  constructor(private readonly d: PipelineDeps) {}

  private async load(id: string): Promise<IntakeRequest> {
    const r = await this.d.requests.get(id);
    if (!r) throw new AppError('NOT_FOUND', `request ${id} not found`);
    return r;
  }

  /** Fails the step (permanently: REVOKED, with who, when and why) when `digest` is on the team's deny-list. */
  private async refuseRevoked(r: IntakeRequest, digest: string): Promise<void> {
    const denied = await this.d.revocations?.find(r.team, sourceName(r.source), digest);
    if (denied) throw revokedError(denied);
  }

  /** Queues whatever continues the request from where it is (after a duplicate or a crash). */
  private async continueFrom(r: IntakeRequest, done: PipelineStep): Promise<void> {
    const next = nextStep(r.status);
    if (next && next !== done) await this.d.scheduler.schedule(next, r.id, r.team);
  }

  async resolve(id: string): Promise<void> {
    let r = await this.load(id);
    if (r.status === 'requested') r = (await this.d.lifecycle.transition(id, ['requested'], 'resolving', { known: r })).request;
    if (r.status !== 'resolving') return this.continueFrom(r, 'resolve');
    const ref = parseReference(r.image);
    // Always through the upstream, also for a digest-pinned reference: the HEAD by digest both
    // enforces the allow-list and proves the digest exists at that upstream.
    const digest = await this.d.registry.resolve(ref);
    if (r.source.digest && digest !== r.source.digest) {
      throw new AppError('DIGEST_MISMATCH', `${r.image} resolves to ${digest} upstream, not the pinned ${r.source.digest}`);
    }
    // What this request may record as its tag (tag index, approved repository): see confirmTag.
    const { tag, note: tagNote } = await this.confirmTag(ref, digest);
    const source = (cur: IntakeRequest): SourceRef => {
      const { tag: _given, ...rest } = cur.source;
      return { ...rest, ...(tag ? { tag } : {}), digest };
    };
    // Approved as itself, or (engine mover) as the digest it was staged under the last time.
    const scope = { team: r.team, image: sourceName(r.source), platforms: r.platforms };
    await this.refuseRevoked(r, digest);
    const approval = await findApproval(this.d.approvals, scope, digest);
    if (approval) {
      // Only a tag this approval never had is added; a tag it had may belong to a newer digest now.
      if (tag && !approval.tags.includes(tag)) await this.d.approvals.addTag(scope, tag, approval.digest);
      const restaged = approval.digest !== digest ? ` as ${approval.digest}` : '';
      await this.d.lifecycle.transition(id, ['resolving'], 'approved', {
        known: r, note: `digest already approved for ${r.team}${restaged} (request ${approval.requestId})${tagNote}`,
        patch: (cur) => ({ source: source(cur), internalRef: approval.internalRef, ...(restaged ? { stagedDigest: approval.digest } : {}) }),
      });
      return;
    }
    const holder = await this.d.lifecycle.claim(digestClaimKey(r.team, scope.image, r.platforms, digest), id);
    if (holder) throw new RunInProgress(holder.id);
    const moved = await this.d.lifecycle.transition(id, ['resolving'], 'staging', {
      known: r, note: `pinned to ${digest}${tagNote}`, patch: (cur) => ({ source: source(cur) }),
    });
    await this.continueFrom(moved.request, 'resolve');
  }

  /**
   * The tag a request may record. A `tag@digest` reference names the digest (a digest wins over
   * a tag when pulling), and its tag is only a claim: recorded unchecked, it would point the
   * team's approved tag, and the approved repository's, at any digest, an older approved one
   * included, with no approver. So it is asked upstream, through the reverse proxy as for a tag
   * request: kept when the tag names that digest there now, else dropped (with a note for the
   * request's history), and the request goes on as one by digest. A tag alone was resolved.
   */
  private async confirmTag(ref: ImageRef, digest: string): Promise<{ tag?: string; note: string }> {
    if (!ref.tag || !ref.digest) return { ...(ref.tag ? { tag: ref.tag } : {}), note: '' };
    const { digest: _pinned, ...byTag } = ref;
    const named = await this.d.registry.resolve(byTag).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'IMAGE_NOT_FOUND') return null;
      throw err;
    });
    if (named === digest) return { tag: ref.tag, note: `; tag ${ref.tag} names it upstream` };
    return { note: `; tag ${ref.tag} not recorded: upstream it names ${named ?? 'nothing'}, not ${digest}` };
  }

  /**
   * Stages the request. With `scanThen`, a request it moves to scanning gets no scan job: it
   * resolves to true and the caller scans it ({@link run}); otherwise it resolves to false.
   */
  async stage(id: string, scanThen = false): Promise<boolean> {
    const r = await this.load(id);
    if (r.status !== 'staging' || !r.source.digest) {
      await this.continueFrom(r, 'stage');
      return false;
    }
    const ref = parseReference(r.image);
    const repo = quarantineRepository(this.d.settings.quarantinePrefix, r.source);
    const staged = await this.d.registry.stage({ ...ref, digest: r.source.digest }, repo, r.platforms);
    // A byte-for-byte copy of the whole image must serve the source's digest; selecting a
    // platform, or a mover that re-encodes (preservesDigest false), makes a new identity.
    if (staged.preservesDigest && r.platforms.length === 0 && staged.digest !== r.source.digest) {
      throw new AppError('DIGEST_MISMATCH', `staged image has digest ${staged.digest}, expected ${r.source.digest}`);
    }
    await this.refuseRevoked(r, staged.digest);
    const changed = staged.digest !== r.source.digest ? ` as ${staged.digest} (source ${r.source.digest}, mover ${staged.mover})` : '';
    const moved = await this.d.lifecycle.transition(id, ['staging'], 'scanning', {
      known: r, note: `staged in ${repo}${changed}`, patch: () => ({ stagedDigest: staged.digest }),
    });
    if (scanThen && moved.moved && moved.request.status === 'scanning') return true;
    await this.continueFrom(moved.request, 'stage');
    return false;
  }

  async scan(id: string): Promise<void> {
    const r = await this.load(id);
    const digest = requestDigest(r);
    if (r.status !== 'scanning' || !digest) return this.continueFrom(r, 'scan');
    const repository = quarantineRepository(this.d.settings.quarantinePrefix, r.source);
    const { reports, reused } = await this.d.scans.run({ registry: this.d.registry.internal, repository, digest, registryUrl: this.d.registry.internalUrl });
    const reuseNote = reused.length ? ` (stored scans reused: ${reused.join(', ')})` : '';
    // Code scans or waivers may have been saved while the scanners ran: the store judges the
    // record it saves over (each attempt's current one), and the verdict, the stored policy,
    // failed or awaiting approval, and the note all come from that one judgement.
    let judged: { version: number; policy: PolicyOutcome } | undefined;
    const judge = (cur: IntakeRequest): PolicyOutcome => {
      if (judged?.version !== cur.version) judged = { version: cur.version, policy: this.d.policy({ request: cur, reports }) };
      return judged.policy;
    };
    const rejects = (cur: IntakeRequest) => judge(cur).verdict === 'fail' && this.d.settings.onPolicyFail === 'reject';
    await this.d.lifecycle.transition(id, ['scanning'], (cur) => (rejects(cur) ? 'failed' : 'awaiting_approval'), {
      known: await this.load(id),
      note: (next) => (next.status === 'failed' ? `POLICY_FAILED${reuseNote}` : `policy ${next.policy?.verdict}${reuseNote}`),
      patch: (cur) => {
        const policy = judge(cur);
        return rejects(cur)
          ? { scans: reports, policy, error: { code: 'POLICY_FAILED', message: policy.reasons.join('; ') } }
          : { scans: reports, policy };
      },
    });
  }

  async promote(id: string): Promise<void> {
    const r = await this.load(id);
    const digest = requestDigest(r);
    if (r.status !== 'promoting' || !digest) {
      // Revoked or failed while an earlier run of this job published (it died, or its own
      // withdrawal failed): that run's tag and ledger entry must not outlive it.
      if (digest && (r.status === 'revoked' || r.status === 'failed')) await this.withdrawLeftovers(r);
      return this.continueFrom(r, 'promote');
    }
    // Revoked while it waited for promotion: nothing of it may be published.
    await this.refuseRevoked(r, digest);
    const { settings } = this.d;
    const from = quarantineRepository(settings.quarantinePrefix, r.source);
    const to = approvedRepository(settings.approvedPath, r.team, r.source);
    const tag = approvedTag(r.source, digest);
    const internalRef = `${settings.publicHost}/${to}@${digest}`;
    const approvers = [...new Set(r.decisions.filter((x) => x.decision === 'approve').map((x) => x.by))];
    const image = sourceName(r.source);
    const existing = await this.d.approvals.get(r.team, image, digest);
    // Staging changed the digest (re-encoded, or platforms selected): the ledger maps the
    // upstream digest to this one for this platform set (see Approval.sourceDigest).
    const reencoded = r.source.digest !== undefined && r.source.digest !== digest;
    const record: Approval = {
      team: r.team, digest, image, tags: existing?.tags ?? [], platforms: r.platforms,
      internalRef, internalRepository: to, internalTag: tag, approvedAt: new Date().toISOString(), approvedBy: approvers, requestId: r.id,
      ...(reencoded ? { sourceDigest: r.source.digest } : {}),
    };
    // The ledger learns of the tag before the registry gets it (see Approval.pending); an
    // approval already served stays as it is until this one replaces it.
    const expected: ExpectedApproval = existing && !existing.pending ? existing : { requestId: r.id, approvedAt: record.approvedAt, pending: true };
    if (!existing || existing.pending) await this.d.approvals.put({ ...record, pending: true });
    // Copy, check and the completed ledger entry under the publish lease: an unpublish job of
    // this digest (an earlier revocation) checks and deletes either wholly before or wholly after.
    // A holder stalled past the lease's TTL must not write as if it held it: each write first
    // confirms (and renews) the lease, or the job fails with LEASE_LOST and is retried.
    const completed = await withPublishLock(this.d.publishLocks, to, digest, async (lease) => {
      await lease.check('the copy into the approved repository');
      await this.d.registry.promote(from, to, digest, tag);
      const served = await this.d.registry.internalDigest(to, tag);
      if (served !== digest) {
        throw new AppError('DIGEST_MISMATCH', `${to}:${tag} resolves to ${served ?? 'nothing'} after promotion, expected ${digest}`, { temporary: true });
      }
      await lease.check('the completed ledger entry');
      // Written only if, in that same store step, the request is still promoting, the digest is
      // not on the deny-list and the entry is still the one read or written above: an admin who
      // revoked since the check at the top (the revocation removed the pending entry) wins.
      return this.d.approvals.complete(record, expected);
    });
    if (!completed) return this.completionRefused(id, digest);
    // The tag index gets this request's own source tag only: this approval is the newest of it.
    if (r.source.tag) await this.d.approvals.addTag({ team: r.team, image, platforms: r.platforms }, r.source.tag, digest);
    const { request, moved } = await this.d.lifecycle.transition(id, ['promoting'], 'approved', { note: `promoted to ${to}:${tag}`, patch: () => ({ internalRef }) });
    // Revoked or failed while this job ran: what it just published must not stay served.
    if (!moved && request.status !== 'approved') await this.withdrawPromotion(request);
  }

  /**
   * The completed entry was refused (see {@link ApprovalStore.complete}): the request was revoked
   * or failed during the copy, or the digest denied, or the entry replaced. What the copy tagged
   * is taken back unless another completed approval serves it; a denied digest fails the request
   * (REVOKED), and an entry replaced under a request still promoting is retried (CONFLICT).
   */
  private async completionRefused(id: string, digest: string): Promise<void> {
    const now = await this.load(id);
    // Another run of this job (this one stalled past its lease) completed it meanwhile: its
    // approval is this request's and served; nothing to take back.
    if (now.status === 'approved') return;
    const denied = await this.d.revocations?.find(now.team, sourceName(now.source), digest);
    if (now.status !== 'promoting' || denied) await this.withdrawPromotion(now, { rethrow: true });
    if (denied) throw revokedError(denied);
    if (now.status === 'promoting') {
      throw new AppError('CONFLICT', `the ledger entry of ${digest} changed during the promotion of request ${id}; trying again`, { temporary: true });
    }
  }

  /**
   * A promotion job that finds its request revoked or failed: takes back the tag and this
   * request's ledger entry an earlier run left (it died between its copy and its withdrawal, or
   * the registry refused that withdrawal); a failure to do so fails the job, which is retried.
   */
  private async withdrawLeftovers(r: IntakeRequest): Promise<void> {
    const digest = requestDigest(r);
    if (!digest) return;
    const to = approvedRepository(this.d.settings.approvedPath, r.team, r.source);
    const own = await this.d.approvals.get(r.team, sourceName(r.source), digest);
    const tagged = await this.d.registry.internalDigest(to, approvedTag(r.source, digest)) === digest;
    if (own?.requestId === r.id || tagged) await this.withdrawPromotion(r, { rethrow: true });
  }

  /**
   * Takes back what a promotion of `r` published that no completed approval owns: the
   * approved repository's manifest (and so its tag) and this request's pending approval. If
   * the registry refuses, the pending approval stays, so the ledger still names the tag and
   * an admin's revocation removes it.
   */
  private async withdrawPromotion(r: IntakeRequest, options: { rethrow?: boolean } = {}): Promise<void> {
    const digest = requestDigest(r);
    if (!digest) return;
    const to = approvedRepository(this.d.settings.approvedPath, r.team, r.source);
    const image = sourceName(r.source);
    // Read once, under the lease: what the delete is decided on is what the removal below owns.
    const withdraw = () => withPublishLock(this.d.publishLocks, to, digest, async (lease) => {
      const now = await this.d.approvals.get(r.team, image, digest);
      // Another request's completed approval serves this digest from this repository: it stays.
      if (now && now.requestId !== r.id && !now.pending && now.internalRepository === to) return null;
      await lease.check('the withdrawal\'s delete');
      await this.d.registry.unpublish(to, digest);
      return now;
    });
    let approval: Approval | null;
    try {
      // A lease lost under the withdrawal (a stall past its TTL) is taken again once: nothing else
      // retries this path, and giving up leaves the image served with a pending approval.
      approval = await withdraw().catch((err: unknown) => (err instanceof AppError && err.code === 'LEASE_LOST' ? withdraw() : Promise.reject(err)));
    } catch (err) {
      // A promotion job's own withdrawal fails the job instead: its retry withdraws again.
      if (options.rethrow) throw err;
      this.d.logger.error({ error: err, requestId: r.id, digest, repository: to }, 'could not withdraw a failed promotion; its pending approval stays for revocation');
      return;
    }
    if (approval && approval.requestId === r.id) await this.d.approvals.remove(r.team, image, digest);
  }

  /** Marks the request failed with the error's code and message (the queue's last word). */
  async fail(id: string, err: unknown): Promise<void> {
    const e = toAppError(err);
    this.d.logger.warn({ error: e, requestId: id }, `request failed: ${e.code}`);
    const active: RequestStatus[] = ['requested', 'resolving', 'staging', 'scanning', 'promoting'];
    const { request, moved, from } = await this.d.lifecycle.transition(id, active, 'failed', {
      note: e.code,
      patch: () => ({ error: { code: e.code, message: e.status >= 500 && e.code === 'INTERNAL' ? 'internal error' : e.message } }),
    });
    // A promotion may have tagged the image before it failed: nothing half-done stays served.
    // `from` is the state the one atomic save moved it from: a late promotion that won the race
    // leaves this call unmoved, and its approved image untouched.
    if (moved && from === 'promoting') await this.withdrawPromotion(request);
  }

  /** Queues the next step of requests left without a job (see sweep.ts). */
  async sweep(jobs: JobScheduler & JobInspector, options?: SweepOptions): Promise<string[]> {
    return sweepStuck(this.d.requests, jobs, options);
  }

  /**
   * Runs one step under its lease. A second run of a step while the first still holds the lease
   * throws StepInProgress: two runs of a stage or a promotion at once write the same manifests
   * into one repository, and docker-registry's filesystem storage rewrites a manifest's link
   * files in place (truncate, then write), so the other run's index check can read one empty
   * and fail with DIGEST_INVALID; two runs of a scan scan twice.
   */
  async run(step: PipelineStep, id: string, observe?: StepObserver): Promise<void> {
    const scanNext = await timed(step, observe, () => this.leased(step, id, () => this.runStep(step, id)));
    if (scanNext) await this.scanAfterStage(id, observe);
  }

  private async leased<T>(step: PipelineStep, id: string, work: () => Promise<T>): Promise<T> {
    const lease = this.d.leases ? await this.d.leases.acquire(step, id) : undefined;
    if (lease === null) {
      const left = await this.d.leases?.remainingMs?.(step, id).catch(() => null);
      throw new StepInProgress(id, step, left ?? undefined);
    }
    try {
      return await work();
    } finally {
      if (lease && !lease.held()) this.d.logger.warn({ requestId: id, step }, 'the step outlived its lease (its worker was stalled): another run may have overlapped it');
      await lease?.release();
    }
  }

  /**
   * The scan of a request this process has just staged (settings.scanAfterStage): here, where
   * its layers are still in memory, rather than in whichever worker takes a queued scan job
   * (issue 17: with two worker processes, half the scans read every layer back from the
   * registry). It comes right after its stage, as the step order wants (later steps first), and
   * under the scan's own lease. A crash during it hands the stage job out again, whose run
   * finds the request scanning and queues the scan job. A scan that cannot run here (its lease
   * taken) or fails is queued as its own job, whose retries and failure handling are the queue's.
   */
  private async scanAfterStage(id: string, observe?: StepObserver): Promise<void> {
    try {
      await timed('scan', observe, () => this.leased('scan', id, () => this.scan(id)));
      return;
    } catch (err) {
      if (!(err instanceof StepInProgress)) this.d.logger.warn({ error: err, requestId: id }, 'the scan that followed staging failed in this job: queued as a job of its own');
    }
    await this.continueFrom(await this.load(id), 'stage');
  }

  /** Runs `step`; resolves to true when a stage leaves its scan to the caller (see {@link stage}). */
  private async runStep(step: PipelineStep, id: string): Promise<boolean> {
    switch (step) {
      case 'resolve': await this.resolve(id); return false;
      case 'stage': return this.stage(id, this.d.settings.scanAfterStage === true);
      case 'scan': await this.scan(id); return false;
      case 'promote': await this.promote(id); return false;
    }
  }
}
