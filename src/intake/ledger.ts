/**
 * Finding a team's completed approval of an image by a digest the caller knows: the approved
 * digest itself, or the upstream digest of an image that staging changed (a re-encoding mover
 * recompresses layers; a platform selection keeps one image of an index), which the ledger
 * maps per platform set. An approval answers only for its own image name and its own platform
 * set: a whole-image lookup never answers a single platform's child, and a platform-selected
 * approval answers only a lookup naming the same set.
 */
import { servesScope as serves, type Approval, type ApprovalScope, type ApprovalStore } from '../store/types';

export { serves };

/** The approval in `scope` for `digest` (approved or upstream); pending approvals count as none. */
export async function findApproval(approvals: Pick<ApprovalStore, 'get' | 'digestForSource'>, scope: ApprovalScope, digest: string): Promise<Approval | null> {
  const direct = await approvals.get(scope.team, scope.image, digest);
  if (serves(direct, scope)) return direct;
  const staged = await approvals.digestForSource(scope, digest);
  if (!staged) return null;
  const approval = await approvals.get(scope.team, scope.image, staged);
  return serves(approval, scope) && approval.sourceDigest === digest ? approval : null;
}
