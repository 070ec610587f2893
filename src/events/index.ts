/** Outbound events: webhooks (CloudEvents + Standard Webhooks signatures) and Prometheus metrics. */
export { toCloudEvent, subscribed, type CloudEvent, type OutboundEvent } from './cloudevents';
export { parseWebhookSecret, signWebhook } from './signature';
export { resolveEndpoints, webhookSubscriber, type Delivery, type DeliveryQueue, type Endpoint } from './webhooks';
export { RedisDeliveryLog, type DeliveryRecord, type DeliveryQuery } from './deliveries';
export { Metrics, type QueueCounts } from './metrics';
export { metricsSubscriber } from './metrics-subscriber';
export { startMetricsServer } from './metrics-server';
export { instrumentScanner } from './instrument';
export * from './deliver';
export { alertLogger } from './alerts';
