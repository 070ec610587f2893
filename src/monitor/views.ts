/**
 * What the API shows of approval health: the `health` of each approved-inventory entry, and
 * the re-reviews in the approvers' queue (`GET /v1/queue` → `reviews`). Team isolation as
 * everywhere: a re-review is shown only to approvers and admins of its team.
 */
import type { Principal } from '../lib/identity/types';
import type { HealthStore } from './health-store';
import { healthView, type ApprovalKey, type BlockingFinding, type HealthRecord, type HealthView } from './types';

/** A re-review in the approvers' queue: an at-risk approval past its deadline, with `monitor.autoRevoke` off. */
export interface ReviewItem {
  kind: 're_review';
  team: string;
  image: string;
  digest: string;
  /** The approved request (its findings, waivers and decisions). */
  requestId: string;
  state: 'at_risk';
  deadline: string | null;
  reviewSince: string;
  blocking: BlockingFinding[];
  diff: HealthView['diff'];
}

const REVIEWS_MAX = 500;

export class HealthViews {
  constructor(private readonly store: Pick<HealthStore, 'getMany' | 'reviews' | 'due'>) {}

  /** The health of each approval, `null` where none was evaluated yet. */
  async of(keys: readonly ApprovalKey[]): Promise<Array<HealthView | null>> {
    return (await this.store.getMany(keys)).map((r) => (r ? healthView(r) : null));
  }

  /** At-risk approvals of these teams (`'*'`: every team), earliest deadline first (the console's alerts). */
  async atRisk(teams: readonly string[] | '*', limit = REVIEWS_MAX): Promise<HealthRecord[]> {
    const keys = (await this.store.due(Number.MAX_SAFE_INTEGER, limit)).filter((k) => teams === '*' || teams.includes('*') || teams.includes(k.team));
    return (await this.store.getMany(keys)).filter((r): r is HealthRecord => r !== null && r.state === 'at_risk');
  }

  /** The re-reviews the caller may decide (approvers and admins of the team), oldest first. */
  async reviewsFor(p: Principal): Promise<ReviewItem[]> {
    if (!p.roles.some((r) => r === 'approver' || r === 'admin')) return [];
    const everyTeam = p.teams.includes('*');
    const keys = (await this.store.reviews(REVIEWS_MAX)).filter((k) => everyTeam || p.teams.includes(k.team));
    const records = await this.store.getMany(keys);
    return records.flatMap((r) => (r && r.state === 'at_risk' && r.review ? [{
      kind: 're_review' as const, team: r.team, image: r.image, digest: r.digest, requestId: r.requestId, state: 'at_risk' as const,
      deadline: r.deadline ?? null, reviewSince: r.review.since, blocking: r.blocking, diff: r.diff,
    }] : []));
  }
}
