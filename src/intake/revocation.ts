/**
 * Revocation (admins): `{digest}` or `{image}` (a reference; one name of a digest approved under
 * several), with a team and a reason. In this order:
 * 1. the digest goes on the team's deny-list, with its audit record, in one script;
 * 2. the ledger entries go (CI's lookups stop answering at once);
 * 3. every request of the team that resolved to the digest (under that name) shows `revoked`
 *    with the reason, and no `internalRef`;
 * 4. the registry delete is queued as a retried job, so a registry fault cannot leave the
 *    ledger answering, and the job deletes nothing that a completed approval serves again.
 * Until an admin lifts it (`unrevoke`, audited), a new request for the digest is refused with
 * 409 REVOKED naming who revoked it, when and why.
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { parseReference } from '../registry/reference';
import type { Approval, ApprovalStore, Revocation, RevocationStore, RequestStatus, RequestStore } from '../store/types';
import { isMember, requireRole } from './access';
import { outboxRecord, type DomainEvent, type EventBus } from './events';
import type { Lifecycle } from './lifecycle';
import { sourceName } from './paths';
import type { IntakeRegistry, RegistryCleanup, UnpublishTask } from './ports';

/** States a request of a revoked digest leaves for `revoked` (rejected and failed ones keep their story). */
const REVOCABLE: readonly RequestStatus[] = ['requested', 'resolving', 'staging', 'scanning', 'awaiting_approval', 'promoting', 'approved'];

export interface RevokeInput {
  digest?: string;
  image?: string;
  team: string;
  /** The platform set of a tag reference's approval; empty = the whole image. */
  platforms?: string[];
  reason: string;
}

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

  async revoke(p: Principal, input: RevokeInput): Promise<Approval[]> {
    requireRole(p, ['admin'], 'revoking approvals');
    const notApproved = new AppError('NOT_APPROVED', `${input.image ?? input.digest} is not approved for team ${input.team}`);
    if (!isMember(p, input.team)) throw notApproved;
    const { digest, image } = await this.target(input);
    const approvals = (await this.d.approvals.ofDigest(input.team, digest)).filter((a) => !image || a.image === image);
    const requests = (await Promise.all((await this.d.requests.idsByDigest(input.team, digest)).map((id) => this.d.requests.get(id))))
      .filter((r) => r !== null && (!image || sourceName(r.source) === image) && REVOCABLE.includes(r.status));
    if (approvals.length === 0 && requests.length === 0) throw notApproved;
    const at = new Date().toISOString();
    // Who must act: the workloads still running the digest. A ledger that cannot answer never stops a revocation (null: unknown).
    const workloads = this.d.workloads ? await this.d.workloads.workloads(digest, [input.team], 100).then((ws) => ws.map(({ namespace, kind, name, image, lastSeen }) => ({ namespace, kind, name, image, lastSeen })), () => null) : undefined;
    const entry: Revocation = { team: input.team, digest, ...(image ? { image } : {}), by: p.name, at, reason: input.reason };
    const event: DomainEvent = {
      type: 'approval.revoked', actor: p.name, target: `approval/${input.team}/${digest}`,
      details: {
        team: input.team, digest, image: image ?? null, reason: input.reason,
        images: approvals.map((a) => a.image), requestIds: requests.map((r) => r?.id), pending: approvals.some((a) => a.pending),
        ...(workloads !== undefined ? { workloads } : {}),
      },
    };
    await this.d.revocations.add(entry, [outboxRecord(event, at)]);
    for (const a of approvals) await this.d.approvals.remove(a.team, a.image, a.digest);
    for (const r of requests) {
      if (!r) continue;
      await this.d.lifecycle.transition(r.id, REVOCABLE, 'revoked', {
        by: p.name, note: input.reason, patch: () => ({ internalRef: null, revocation: { by: p.name, at, reason: input.reason } }),
      });
    }
    for (const a of approvals) await this.d.cleanup.unpublish({ team: a.team, image: a.image, repository: a.internalRepository, digest: a.digest });
    await this.d.events.publish({ ...event, recorded: true });
    return approvals;
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

/**
 * The registry side of a revocation, run by the queued job: deletes the image unless a
 * completed approval of the same (team, image, digest) serves it again (approved anew after
 * an unrevoke while the job waited).
 */
export async function unpublishUnlessServed(d: { approvals: Pick<ApprovalStore, 'get'>; registry: Pick<IntakeRegistry, 'unpublish'> }, task: UnpublishTask): Promise<'deleted' | 'served'> {
  const approval = await d.approvals.get(task.team, task.image, task.digest);
  if (approval && !approval.pending && approval.internalRepository === task.repository) return 'served';
  await d.registry.unpublish(task.repository, task.digest);
  return 'deleted';
}
