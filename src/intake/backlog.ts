/**
 * A team's backlog per pipeline step, for the queue's fairness across teams (queue/priority.ts):
 * how many of the team's requests are in the state that waits for that step.
 */
import type { RequestStatus, RequestStore } from '../store/types';
import type { PipelineStep } from './ports';

/** The state a request is in while the job of `step` is queued for it. */
const WAITING: Record<PipelineStep, RequestStatus> = { resolve: 'requested', stage: 'staging', scan: 'scanning', promote: 'promoting' };

export function teamBacklog(requests: Pick<RequestStore, 'count'>): (team: string, step: PipelineStep) => Promise<number> {
  return (team, step) => requests.count(team, WAITING[step]);
}
