/**
 * Alert lines for ELK: each alert event on the bus (an approval at risk or to re-review, upstream
 * drift, a waiver about to expire) is one ECS log line with `event.kind: alert`, the ECS
 * categorization of its action, `event.dataset: portcullis.audit`, and the facts as
 * `portcullis.alert.*`. The audit line of the same event (src/audit/log.ts) carries the chain hash.
 */
import { ALERT_ACTIONS, AUDIT_DATASET, ecsCategorization } from '../lib/ecs';
import type { Logger } from '../lib/logger';
import type { OutboundEvent } from './cloudevents';

export function alertLogger(logger: Logger): (event: OutboundEvent) => void {
  return (event) => {
    if (!ALERT_ACTIONS.has(event.type)) return;
    const d = event.details;
    logger.warn({
      ...ecsCategorization(event.type, d, 'alert'), 'event.dataset': AUDIT_DATASET, 'user.name': event.actor,
      ...(typeof d.digest === 'string' ? { 'container.image.hash.all': [d.digest] } : {}),
      ...(typeof d.image === 'string' ? { 'container.image.name': d.image } : {}),
      ...(Array.isArray(d.cves) && d.cves.length ? { 'vulnerability.id': d.cves } : {}),
      'portcullis.alert.target': event.target, 'portcullis.alert.details': d,
    }, `alert: ${event.type} ${event.target}`);
  };
}
