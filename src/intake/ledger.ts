/**
 * Finding a team's completed approval of an image by a digest the caller knows: the approved
 * digest itself, or the upstream digest of an image that a re-encoding mover (the engine mover
 * recompresses layers) staged, and so approved, under a digest of its own. Without the second
 * way, asking again for the same upstream image would scan and approve it all over again, and
 * CI could not look it up by the digest its manifests name.
 */
import type { Approval, ApprovalStore } from '../store/types';

export interface FindApprovalOptions {
  /**
   * Also follow `digest` as an upstream digest (Approval.sourceDigest). Off for a request that
   * selects platforms: an upstream index digest does not say which of its images was approved.
   * @defaultValue true
   */
  viaSource?: boolean;
}

/** The approval of `image` (`registry/repository`) in `team` for `digest`; pending approvals count as none. */
export async function findApproval(approvals: Pick<ApprovalStore, 'get' | 'digestForSource'>, team: string, image: string, digest: string,
  options: FindApprovalOptions = {}): Promise<Approval | null> {
  const served = (a: Approval | null): a is Approval => a !== null && !a.pending && a.image === image;
  const direct = await approvals.get(team, digest);
  if (served(direct)) return direct;
  if (options.viaSource === false) return null;
  const staged = await approvals.digestForSource(team, digest);
  if (!staged) return null;
  const approval = await approvals.get(team, staged);
  return served(approval) && approval.sourceDigest === digest ? approval : null;
}
