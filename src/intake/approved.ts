/**
 * The approved-digest ledger as CI sees it: an image reference (tag or digest) and a team →
 * the internal reference to pull. A team the caller is not in answers NOT_APPROVED, like an
 * image never approved, so nothing leaks. Revocation (admins) withdraws the approval and
 * deletes the image from the approved repository; it also removes a pending approval (a
 * promotion that tagged the image and then failed without being able to take it back).
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { parseReference } from '../registry/reference';
import type { Approval, ApprovalStore } from '../store/types';
import { canRead, isMember, requireRole } from './access';
import type { EventBus } from './events';
import { findApproval } from './ledger';
import type { Lifecycle } from './lifecycle';
import type { IntakeRegistry } from './ports';

export interface ApprovedImage {
  image: string;
  digest: string;
  internalRef: string;
  team: string;
  approvedAt: string;
  approvedBy: string[];
}

export type ResolveResult = { image: string; internalRef: string } | { image: string; error: { code: string; message: string } };

export interface ApprovedServiceDeps {
  approvals: ApprovalStore;
  registry: Pick<IntakeRegistry, 'unpublish'>;
  lifecycle: Lifecycle;
  events: EventBus;
}

const LOOKUP_ROLES = ['ci', 'developer', 'approver', 'admin', 'auditor'] as const;

export class ApprovedService {
  constructor(private readonly d: ApprovedServiceDeps) {}

  async lookup(p: Principal, image: string, team: string): Promise<ApprovedImage> {
    requireRole(p, LOOKUP_ROLES, 'looking up approved images');
    const notApproved = new AppError('NOT_APPROVED', `${image} is not approved for team ${team}`);
    if (!canRead(p, team)) throw notApproved;
    const ref = parseReference(image);
    const name = `${ref.registry}/${ref.repository}`;
    const digest = ref.digest ?? (ref.tag ? await this.d.approvals.digestForTag(team, name, ref.tag) : null);
    // By an upstream digest too, when an engine mover re-encoded it; a pending approval's
    // promotion has not completed, so nothing is approved yet.
    const approval = digest ? await findApproval(this.d.approvals, team, name, digest) : null;
    if (!approval) throw notApproved;
    return { image, digest: approval.digest, internalRef: approval.internalRef, team, approvedAt: approval.approvedAt, approvedBy: approval.approvedBy };
  }

  /** A whole deployment's images in one call; each failure is reported in place. */
  async resolveMany(p: Principal, team: string, images: string[]): Promise<ResolveResult[]> {
    requireRole(p, LOOKUP_ROLES, 'looking up approved images');
    return Promise.all(images.map(async (image) => {
      try {
        return { image, internalRef: (await this.lookup(p, image, team)).internalRef };
      } catch (err) {
        if (err instanceof AppError && err.status < 500) return { image, error: { code: err.code, message: err.message } };
        throw err;
      }
    }));
  }

  /** Withdraws the approval of `digest` (in `team`, or in every team the admin can see). */
  async revoke(p: Principal, input: { digest: string; team?: string; reason: string }): Promise<Approval[]> {
    requireRole(p, ['admin'], 'revoking approvals');
    const teams = input.team ? [input.team] : await this.d.approvals.teamsFor(input.digest);
    const revoked: Approval[] = [];
    for (const team of teams.filter((t) => isMember(p, t))) {
      const approval = await this.d.approvals.get(team, input.digest);
      if (!approval) continue;
      // Delete from the registry first: if that fails the ledger still answers, and the admin retries.
      await this.d.registry.unpublish(approval.internalRepository, approval.digest);
      await this.d.approvals.remove(team, input.digest);
      // A pending approval belongs to a promotion still running or one that failed half-way.
      await this.d.lifecycle.transition(approval.requestId, approval.pending ? ['promoting'] : ['approved'], 'revoked', { by: p.name, note: input.reason });
      await this.d.events.publish({
        type: 'approval.revoked', actor: p.name, target: `approval/${team}/${approval.digest}`,
        details: { team, digest: approval.digest, image: approval.image, reason: input.reason, requestId: approval.requestId, pending: approval.pending ?? false },
      }, { required: true });
      revoked.push(approval);
    }
    if (revoked.length === 0) throw new AppError('NOT_APPROVED', `${input.digest} is not approved${input.team ? ` for team ${input.team}` : ''}`);
    return revoked;
  }
}
