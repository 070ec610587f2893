/**
 * The approved-digest ledger as CI sees it: an image reference (tag or digest) and a team →
 * the internal reference to pull. A team the caller is not in answers NOT_APPROVED, like an
 * image never approved, so nothing leaks. The team's inventory lists its approved images.
 * Revocation lives in revocation.ts.
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { parseReference } from '../registry/reference';
import { platformKey, type ApprovalStore } from '../store/types';
import { canRead, requireRole } from './access';

export interface ApprovedImage {
  image: string;
  digest: string;
  internalRef: string;
  team: string;
  approvedAt: string;
  approvedBy: string[];
  /** The platform set approved; empty = the whole image. */
  platforms: string[];
}

/** One entry of a team's approved inventory. */
export interface InventoryItem {
  image: string;
  digest: string;
  tags: string[];
  platforms: string[];
  internalRef: string;
  approvedAt: string;
  approvedBy: string[];
  requestId: string;
}

export type ResolveResult = { image: string; internalRef: string } | { image: string; error: { code: string; message: string } };

export interface ApprovedServiceDeps {
  approvals: ApprovalStore;
}

const LOOKUP_ROLES = ['ci', 'developer', 'approver', 'admin', 'auditor'] as const;

export class ApprovedService {
  constructor(private readonly d: ApprovedServiceDeps) {}

  /**
   * The approval of `image` (tag or digest) in `team` for the platform set `platforms` (empty:
   * the whole image). A platform-selected approval answers only the same set, and a
   * whole-image lookup never a single platform's child.
   */
  async lookup(p: Principal, image: string, team: string, platforms: readonly string[] = []): Promise<ApprovedImage> {
    requireRole(p, LOOKUP_ROLES, 'looking up approved images');
    // Built only when thrown: capturing a stack on every lookup costs CI's hot path.
    const notApproved = (): AppError => new AppError('NOT_APPROVED', `${image} is not approved for team ${team}${platforms.length ? ` (platforms ${platformKey(platforms)})` : ''}`);
    if (!canRead(p, team)) throw notApproved();
    const ref = parseReference(image);
    const scope = { team, image: `${ref.registry}/${ref.repository}`, platforms };
    // One store call (CI's hot path): by tag, by the approved digest, or by an upstream digest
    // when staging changed it; a pending approval's promotion has not completed, so nothing is
    // approved yet.
    const approval = ref.digest ? await this.d.approvals.lookup(scope, { digest: ref.digest })
      : ref.tag ? await this.d.approvals.lookup(scope, { tag: ref.tag }) : null;
    if (!approval) throw notApproved();
    return {
      image, digest: approval.digest, internalRef: approval.internalRef, team, approvedAt: approval.approvedAt, approvedBy: approval.approvedBy,
      platforms: approval.platforms ?? [],
    };
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

  /** The team's approved images, newest first, a page at a time. Another team's answers 404. */
  async inventory(p: Principal, team: string, page: { limit: number; cursor?: string }): Promise<{ items: InventoryItem[]; next: string | null }> {
    requireRole(p, LOOKUP_ROLES, 'listing approved images');
    if (!canRead(p, team)) throw new AppError('NOT_FOUND', `team ${team} not found`);
    const found = await this.d.approvals.list(team, page);
    return {
      items: found.items.map((a) => ({
        image: a.image, digest: a.digest, tags: a.tags, platforms: a.platforms ?? [], internalRef: a.internalRef,
        approvedAt: a.approvedAt, approvedBy: a.approvedBy, requestId: a.requestId,
      })),
      next: found.next,
    };
  }
}
