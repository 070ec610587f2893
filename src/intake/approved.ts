/**
 * The approved-digest ledger as CI sees it: an image reference (tag or digest) and a team →
 * the internal reference to pull. A team the caller is not in answers NOT_APPROVED, like an
 * image never approved, so nothing leaks. The team's inventory lists its approved images.
 * Revocation lives in revocation.ts.
 */
import { AppError } from '../lib/errors';
import type { Principal } from '../lib/identity/types';
import { parseReference } from '../registry';
import { platformKey, type Approval, type ApprovalScope, type ApprovalStore, type Revocation } from '../store/types';
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
  /**
   * The approval's health (issue 13.3, src/monitor): `ok`, or `at_risk` with the blocking
   * findings and a deadline; `{state: 'ok', evaluatedAt: null}` until first evaluated. Present
   * when the health monitor is wired.
   */
  health?: InventoryHealthView;
}

/** The health of an approval as the inventory shows it (declared here so that intake does not import monitor). */
export type InventoryHealthView = { state: string; evaluatedAt: string | null } & Record<string, unknown>;

/** Reads approval health (main.ts passes the monitor's). */
export interface InventoryHealth {
  of(keys: ReadonlyArray<{ team: string; image: string; digest: string }>): Promise<Array<InventoryHealthView | null>>;
}

export type ResolveResult = { image: string; internalRef: string } | { image: string; error: { code: string; message: string } };

export interface ApprovedServiceDeps {
  approvals: ApprovalStore;
  /**
   * Why a digest (or the digest a tag named) is not approved any more: CI's NOT_APPROVED then
   * carries `details.reason: 'REVOKED'` with who, when and why. @defaultValue none (plain NOT_APPROVED)
   */
  revoked?: (scope: ApprovalScope, ref: { digest?: string; tag?: string }) => Promise<Revocation | null>;
  /** Approval health for the inventory's `health` field and filter. @defaultValue none (no field) */
  health?: InventoryHealth;
}

/** Approvals read per page while filtering the inventory by health. */
const HEALTH_FILTER_PAGE = 200;

const LOOKUP_ROLES = ['ci', 'developer', 'approver', 'admin', 'auditor'] as const;

/** CI's NOT_APPROVED for a revoked digest: `details.reason` REVOKED, with who, when and why. */
function revokedLookup(image: string, team: string, revoked: Revocation): AppError {
  return new AppError('NOT_APPROVED', `${image} is not approved for team ${team}: ${revoked.digest} was revoked by ${revoked.by} at ${revoked.at}: ${revoked.reason}`, {
    details: { reason: 'REVOKED', digest: revoked.digest, revokedBy: revoked.by, revokedAt: revoked.at, revocationReason: revoked.reason },
  });
}

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
    // An approval of a digest the team's deny-list covers (read in the same store step) never
    // serves, whatever let it stay in the ledger: refused as a revoked image is.
    if (approval?.revoked) throw revokedLookup(image, team, approval.revoked);
    if (!approval) {
      // Off the hot path: only a refused lookup asks whether the digest (or the tag's last one) was revoked.
      const revoked = this.d.revoked ? await this.d.revoked(scope, { ...(ref.digest ? { digest: ref.digest } : {}), ...(ref.tag ? { tag: ref.tag } : {}) }) : null;
      if (revoked) throw revokedLookup(image, team, revoked);
      throw notApproved();
    }
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

  /**
   * The team's approved images, newest first, a page at a time, each with its health when the
   * monitor is wired; `health` keeps only approvals in that state (`ok` includes those not yet
   * evaluated). Another team's answers 404.
   */
  async inventory(p: Principal, team: string, page: { limit: number; cursor?: string; health?: string }): Promise<{ items: InventoryItem[]; next: string | null }> {
    requireRole(p, LOOKUP_ROLES, 'listing approved images');
    if (!canRead(p, team)) throw new AppError('NOT_FOUND', `team ${team} not found`);
    if (page.health && !this.d.health) throw new AppError('DEPENDENCY_UNAVAILABLE', 'approval health is not available in this process');
    if (!page.health) {
      const found = await this.d.approvals.list(team, page);
      return { items: await this.withHealth(found.items), next: found.next };
    }
    // Filtered after the read, so a page may take several reads; `next` resumes after the last item returned.
    const items: InventoryItem[] = [];
    let cursor = page.cursor;
    for (;;) {
      const found = await this.d.approvals.list(team, { limit: HEALTH_FILTER_PAGE, ...(cursor ? { cursor } : {}) });
      const withHealth = await this.withHealth(found.items);
      for (const [i, item] of withHealth.entries()) {
        if (item.health?.state !== page.health) continue;
        items.push(item);
        if (items.length === page.limit) {
          const more = i < withHealth.length - 1 || found.next !== null;
          // The store's cursor is opaque: the same read cut after item i gives the cursor after it.
          const next = more ? (await this.d.approvals.list(team, { limit: i + 1, ...(cursor ? { cursor } : {}) })).next : null;
          return { items, next };
        }
      }
      if (!found.next) return { items, next: null };
      cursor = found.next;
    }
  }

  private async withHealth(approvals: readonly Approval[]): Promise<InventoryItem[]> {
    const health = this.d.health ? await this.d.health.of(approvals) : null;
    return approvals.map((a, i) => ({
      image: a.image, digest: a.digest, tags: a.tags, platforms: a.platforms ?? [], internalRef: a.internalRef,
      approvedAt: a.approvedAt, approvedBy: a.approvedBy, requestId: a.requestId,
      ...(health ? { health: health[i] ?? { state: 'ok', evaluatedAt: null } } : {}),
    }));
  }
}
