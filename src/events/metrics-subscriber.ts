/**
 * Domain events → metrics: requests entering each state, decisions with their time since the
 * request, revocations. Decision time needs the request's creation time, which the event does
 * not carry: `requestedAt` reads it (main.ts passes the store's).
 */
import type { OutboundEvent } from './cloudevents';
import type { Metrics } from './metrics';

export interface MetricsSubscriberDeps {
  /** When the request `request/<id>` was made, or null. */
  requestedAt(target: string): Promise<string | null>;
}

export function metricsSubscriber(metrics: Metrics, deps: MetricsSubscriberDeps): (event: OutboundEvent) => Promise<void> {
  return async (event) => {
    const d = event.details;
    const team = typeof d.team === 'string' ? d.team : 'unknown';
    switch (event.type) {
      case 'request.created':
        metrics.requests.inc({ team, status: typeof d.deduplicated === 'string' && d.deduplicated === 'approved' ? 'approved' : 'requested' });
        return;
      case 'request.status_changed':
        if (typeof d.to === 'string') metrics.requests.inc({ team, status: d.to });
        return;
      case 'request.approved':
      case 'request.rejected': {
        const created = await deps.requestedAt(event.target);
        const decidedAt = typeof d.at === 'string' ? Date.parse(d.at) : Date.now();
        if (created) metrics.timeToDecision.observe({ decision: event.type === 'request.approved' ? 'approve' : 'reject' }, Math.max(0, (decidedAt - Date.parse(created)) / 1000));
        return;
      }
      case 'approval.revoked':
        // Bounded values only: `manual` (an admin), `grace_expired` (the health monitor revoked an
        // at-risk approval past its deadline, its reason starting `automatic:`), `automatic` (other system revocations).
        // An admin's revoke that only deletes the images an automatic revocation kept
        // (`deletesKeptImagesOnly`) revokes no approval: that revocation was counted already.
        if (d.deletesKeptImagesOnly === true) return;
        metrics.revocations.inc({ reason: event.actor !== 'system' ? 'manual' : typeof d.reason === 'string' && d.reason.startsWith('automatic:') ? 'grace_expired' : 'automatic' });
        return;
      default:
    }
  };
}
