/**
 * Revocation (admins): `{digest}` or `{image}` (a reference; one name of a digest approved under
 * several), with a team and a reason. In this order:
 * 1. one script: the digest goes on the team's deny-list, the ledger entries go (CI's lookups
 *    stop answering at once), the audit record goes into the outbox, and an intent records
 *    steps 2 and 3, so that no crash can leave the deny-list and the ledger disagreeing;
 * 2. every request of the team that resolved to the digest (under that name) shows `revoked`
 *    with the reason, and no `internalRef`;
 * 3. the registry delete is queued as a retried job, so a registry fault cannot leave the
 *    ledger answering, and the job deletes nothing that a completed approval serves again;
 * then the intent goes. Steps 2 and 3 are idempotent: a crash before the intent goes leaves it
 * to {@link RevocationService.completePending} (every worker's sweep), which redoes them.
 * Until an admin lifts it (`unrevoke`, audited), a new request for the digest is refused with
 * 409 REVOKED naming who revoked it, when and why.
 *
 * The health monitor's automatic revocation passes `keepImage`: step 3 is left out and the
 * script records the images kept (the store's kept images, apart from the deny-list entry),
 * because a revocation must never take down running workloads (a Pod whose container restarts
 * pulls the image again; Harbor #11532). An admin's revoke of such a digest, even once nothing
 * of it is approved any more and after an unrevoke (which leaves the kept images), deletes them
 * then, as an admin's first revoke would have, and its script clears them from the record.
 * The script writes only if the deny entries and kept images are as the revoke read them, or
 * the revoke reads again: an automatic revocation racing an admin's never overwrites the
 * admin's entry nor keeps an image the admin's revoke is deleting.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { parseReference } from '../registry';
import type { Approval, ApprovalStore, KeptImage, Revocation, RevocationIntent, RevocationStore, RequestStatus, RequestStore } from '../store/types';
import { isMember, requireRole } from './access';
import { outboxRecord, type DomainEvent, type EventBus } from './events';
import type { Lifecycle } from './lifecycle';
import { sourceName } from './paths';
import type { IntakeRegistry, RegistryCleanup, UnpublishTask } from './ports';
import { withPublishLock, type PublishLocks } from './publish-lock';

/** States a request of a revoked digest leaves for `revoked` (rejected and failed ones keep their story). */
const REVOCABLE: readonly RequestStatus[] = ['requested', 'resolving', 'staging', 'scanning', 'awaiting_approval', 'promoting', 'approved'];

export interface RevokeInput {
  digest?: string;
  image?: string;
  team: string;
  /** The platform set of a tag reference's approval; empty = the whole image. */
  platforms?: string[];
  reason: string;
  /**
   * Leave the internal image in place (the monitor's automatic revocation): CI's lookups and
   * new admissions stop as for any revocation, but a restarting workload still pulls it. It is
   * recorded as kept until an admin's revoke of the digest deletes it (an unrevoke leaves it).
   * @defaultValue false: the image is deleted by a queued, retried job
   */
  keepImage?: boolean;
}

/**
 * What a revoke answers: each approval it took out of the ledger (every field), and each image
 * an earlier automatic revocation kept that it deletes now (no longer in the ledger: these four).
 */
export type RevokedImage = Pick<Approval, 'team' | 'digest' | 'image' | 'internalRef'> & Partial<Approval>;

/** Reads and conditional writes a revoke tries before answering CONFLICT (each retry follows a concurrent change). */
const REVOKE_ATTEMPTS = 5;

/** Where a digest was admitted lately (the admission ledger, src/admission): listed in the revocation's event. */
export interface RunningWorkloads {
  workloads(digest: string, teams: readonly string[], limit: number): Promise<Array<{ namespace: string; kind: string; name: string; image: string; lastSeen: string }>>;
}

export interface RevocationDeps {
  /** @defaultValue none: the event lists no workloads */
  workloads?: RunningWorkloads;
  approvals: ApprovalStore;
  requests: RequestStore;
  revocations: RevocationStore;
  cleanup: RegistryCleanup;
  lifecycle: Lifecycle;
  events: EventBus;
}

/** The AppError for a denied digest, with who, when and why. */
export function revokedError(r: Revocation): AppError {
  return new AppError('REVOKED', `${r.image ?? 'this image'}@${r.digest} was revoked for team ${r.team} by ${r.by} at ${r.at}: ${r.reason}; an admin must lift it (portcullis unrevoke)`, {
    details: { digest: r.digest, image: r.image ?? null, revokedBy: r.by, revokedAt: r.at, reason: r.reason },
  });
}

export class RevocationService {
  constructor(private readonly d: RevocationDeps) {}

  private async target(input: RevokeInput): Promise<{ digest: string; image?: string }> {
    if (!input.image) return { digest: input.digest ?? '' };
    const ref = parseReference(input.image);
    const image = `${ref.registry}/${ref.repository}`;
    const digest = ref.digest ?? (ref.tag ? await this.d.approvals.digestForTag({ team: input.team, image, platforms: input.platforms ?? [] }, ref.tag) : null);
    if (!digest) throw new AppError('NOT_APPROVED', `${input.image} is not approved for team ${input.team}`);
    return { digest, image };
  }

  async revoke(p: Principal, input: RevokeInput): Promise<RevokedImage[]> {
    requireRole(p, ['admin'], 'revoking approvals');
    const notApproved = new AppError('NOT_APPROVED', `${input.image ?? input.digest} is not approved for team ${input.team}`);
    if (!isMember(p, input.team)) throw notApproved;
    const { digest, image } = await this.target(input);
    // Read, then one script that writes only if the deny entries and kept images are still as
    // read: a concurrent revoke or unrevoke in between makes this one read again.
    for (let attempt = 0; attempt < REVOKE_ATTEMPTS; attempt++) {
      const done = await this.revokeOnce(p, input, digest, image, notApproved);
      if (done) return done;
    }
    throw new AppError('CONFLICT', `the revocation state of ${digest} for team ${input.team} kept changing while revoking it; try again`);
  }

  /** One read and one conditional write of {@link revoke}; null when the state changed since the read. */
  private async revokeOnce(p: Principal, input: RevokeInput, digest: string, image: string | undefined, notApproved: AppError): Promise<RevokedImage[] | null> {
    const approvals = (await this.d.approvals.ofDigest(input.team, digest)).filter((a) => !image || a.image === image);
    const requests = (await Promise.all((await this.d.requests.idsByDigest(input.team, digest)).map((id) => this.d.requests.get(id))))
      .filter((r) => r !== null && (!image || sourceName(r.source) === image) && REVOCABLE.includes(r.status));
    const read = await this.d.revocations.read(input.team, digest);
    // An admin's revoke deletes the images automatic revocations kept, in its scope (every one
    // of the digest, or those of the name revoked), even once nothing of it is approved any more.
    const toDelete: KeptImage[] = input.keepImage ? [] : read.kept.filter((k) => !image || k.image === image);
    if (approvals.length === 0 && requests.length === 0 && toDelete.length === 0) throw notApproved;
    // An automatic revocation revokes an approval the ledger serves: none left (an admin revoked
    // it meanwhile, whose requests may not have moved yet) leaves it nothing to do, and no entry
    // of its own to add beside the admin's.
    if (input.keepImage && approvals.length === 0) throw notApproved;
    const at = new Date().toISOString();
    // Who must act: the workloads still running the digest. A ledger that cannot answer never stops a revocation (null: unknown).
    const workloads = this.d.workloads ? await this.d.workloads.workloads(digest, [input.team], 100).then((ws) => ws.map(({ namespace, kind, name, image, lastSeen }) => ({ namespace, kind, name, image, lastSeen })), () => null) : undefined;
    const kept: KeptImage[] = input.keepImage ? uniqueBy(approvals.map((a) => ({ image: a.image, repository: a.internalRepository, internalRef: a.internalRef })), (k) => k.repository) : [];
    // An automatic revocation never overwrites an entry someone else wrote (an admin's, with its
    // reason): the digest stays denied under it, and the script rewrites it unchanged.
    const current = read.entries.find((e) => (e.image ?? '*') === (image ?? '*'));
    const entry: Revocation = input.keepImage && current && current.by !== p.name
      ? current
      : { team: input.team, digest, ...(image ? { image } : {}), by: p.name, at, reason: input.reason };
    const unpublish = input.keepImage ? [] : uniqueBy([
      ...approvals.map((a) => ({ team: a.team, image: a.image, repository: a.internalRepository, digest: a.digest })),
      ...toDelete.map((k) => ({ team: input.team, image: k.image, repository: k.repository, digest })),
    ], (t) => t.repository);
    const event: DomainEvent = {
      type: 'approval.revoked', actor: p.name, target: `approval/${input.team}/${digest}`,
      details: {
        team: input.team, digest, image: image ?? null, reason: input.reason,
        images: approvals.map((a) => a.image), requestIds: requests.map((r) => r?.id), pending: approvals.some((a) => a.pending),
        // Why the image stayed, or that an image kept by an earlier automatic revocation goes now.
        ...(input.keepImage ? { imageKept: true, keptImages: kept.map((k) => k.internalRef) } : {}),
        ...(toDelete.length > 0 ? { deletesKeptImages: toDelete.map((k) => k.internalRef) } : {}),
        // Nothing approved was revoked: this only deletes what an earlier automatic revocation kept (not counted again in the metrics).
        ...(approvals.length === 0 && requests.length === 0 ? { deletesKeptImagesOnly: true } : {}),
        ...(workloads !== undefined ? { workloads } : {}),
      },
    };
    const intent: RevocationIntent = {
      id: randomUUID(), at, team: input.team, digest, by: p.name, reason: input.reason,
      requestIds: requests.flatMap((r) => (r ? [r.id] : [])),
      unpublish,
      ...(input.keepImage ? { imageKept: true } : {}),
      event: { type: event.type, actor: event.actor, target: event.target, details: event.details },
    };
    const written = await this.d.revocations.revoke(entry, approvals, [outboxRecord(event, at)], intent, { seen: read.seen, keep: kept, clear: toDelete.map((k) => k.repository) });
    if (!written) return null;
    await this.complete(intent);
    return [...approvals, ...toDelete.filter((k) => !approvals.some((a) => a.internalRepository === k.repository)).map((k) => ({ team: input.team, digest, image: k.image, internalRef: k.internalRef }))];
  }

  /** Steps 2 and 3 of a recorded revocation, then its announcement; idempotent. */
  private async complete(intent: RevocationIntent): Promise<void> {
    const revocation = { by: intent.by, at: intent.at, reason: intent.reason };
    const note = intent.imageKept ? `${intent.reason} (automatic revocation: the internal image is kept for running workloads until an admin revokes the digest)` : intent.reason;
    for (const id of intent.requestIds) {
      // Already `revoked` (a first attempt got this far): not moved, nothing published twice.
      await this.d.lifecycle.transition(id, REVOCABLE, 'revoked', {
        by: intent.by, note, patch: () => ({ internalRef: null, revocation }),
      });
    }
    for (const task of intent.unpublish) await this.d.cleanup.unpublish(task);
    await this.d.revocations.completed(intent.id);
    await this.d.events.publish({ ...intent.event, recorded: true });
  }

  /**
   * Completes the revocations a crash interrupted (their intent is still recorded), leaving
   * those younger than `minAgeMs` to the call that is making them. Returns the ids completed.
   */
  async completePending(minAgeMs = 30_000, now: () => number = Date.now): Promise<string[]> {
    const done: string[] = [];
    for (const intent of await this.d.revocations.intents()) {
      if (Date.parse(intent.at) > now() - minAgeMs) continue;
      await this.complete(intent);
      done.push(intent.id);
    }
    return done;
  }

  /** Lifts a deny-list entry (admins, audited): new requests for the digest are accepted again. */
  async unrevoke(p: Principal, input: { digest: string; team: string; image?: string; reason: string }): Promise<Revocation> {
    requireRole(p, ['admin'], 'lifting revocations');
    const notRevoked = new AppError('NOT_FOUND', `${input.digest} is not revoked for team ${input.team}${input.image ? ` (${input.image})` : ''}`);
    if (!isMember(p, input.team)) throw notRevoked;
    const image = input.image ? (() => { const ref = parseReference(input.image); return `${ref.registry}/${ref.repository}`; })() : undefined;
    const at = new Date().toISOString();
    const eventOf = (lifted: Revocation): DomainEvent => ({
      type: 'approval.unrevoked', actor: p.name, target: `approval/${input.team}/${input.digest}`,
      details: { team: input.team, digest: input.digest, image: image ?? null, reason: input.reason, revokedBy: lifted.by, revokedAt: lifted.at, revokedFor: lifted.reason },
    });
    const lifted = await this.d.revocations.remove(input.team, input.digest, image, (l) => [outboxRecord(eventOf(l), at)]);
    if (!lifted) throw notRevoked;
    await this.d.events.publish({ ...eventOf(lifted), recorded: true });
    return lifted;
  }
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) if (!byKey.has(key(item))) byKey.set(key(item), item);
  return [...byKey.values()];
}

/**
 * The registry side of a revocation, run by the queued job: deletes the image unless a
 * completed approval of the same (team, image, digest) serves it again (approved anew after
 * an unrevoke while the job waited).
 */
export async function unpublishUnlessServed(d: { approvals: Pick<ApprovalStore, 'get'>; registry: Pick<IntakeRegistry, 'unpublish'>; locks?: PublishLocks }, task: UnpublishTask): Promise<'deleted' | 'served'> {
  // The check and the delete under the publish lease: a promotion cannot land between them.
  return withPublishLock(d.locks, task.repository, task.digest, async (lease) => {
    const approval = await d.approvals.get(task.team, task.image, task.digest);
    if (approval && !approval.pending && approval.internalRepository === task.repository) return 'served';
    // Stalled past the lease since the check: a promotion may have landed, the check is stale.
    await lease.check('the unpublish delete');
    await d.registry.unpublish(task.repository, task.digest);
    return 'deleted';
  });
}
