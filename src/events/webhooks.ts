/**
 * Webhooks as a subscriber of the domain event bus: each event an endpoint subscribed to becomes
 * one CloudEvent, queued for delivery to that endpoint (queue/webhook.ts delivers, signs, retries).
 * Queuing, not sending: a slow or dead receiver never slows the API or the pipeline, and a
 * delivery survives a restart. Secrets are read once, at start, from the variables the config names.
 */
import { toCloudEvent, subscribed, type OutboundEvent } from './cloudevents';
import { parseWebhookSecret } from './signature';
import type { WebhookTarget } from './deliver';

export interface WebhookConfig {
  name: string;
  url: string;
  events: string[];
  secretEnv: string;
}

export interface Endpoint extends WebhookTarget {
  events: readonly string[];
}

/** What is queued per endpoint and event: everything a later attempt needs, fixed at queue time. */
export interface Delivery {
  id: string;
  endpoint: string;
  type: string;
  subject: string;
  team?: string;
  body: string;
}

export interface DeliveryQueue {
  add(delivery: Delivery): Promise<void>;
}

/** The endpoints with their secrets; throws `config: notifications.webhooks[i].secretEnv: …` without leaking a value. */
export function resolveEndpoints(configs: readonly WebhookConfig[], env: NodeJS.ProcessEnv = process.env): Endpoint[] {
  return configs.map((c, i) => {
    const where = `config: notifications.webhooks[${i}].secretEnv`;
    const value = env[c.secretEnv];
    if (!value) throw new Error(`${where}: ${c.secretEnv} is not set`);
    try {
      return { name: c.name, url: c.url, events: c.events, secret: parseWebhookSecret(value) };
    } catch (err) {
      throw new Error(`${where}: ${c.secretEnv} ${(err as Error).message}`);
    }
  });
}

export function webhookSubscriber(endpoints: readonly Endpoint[], queue: DeliveryQueue, source: string): (event: OutboundEvent) => Promise<void> {
  return async (event) => {
    const targets = endpoints.filter((e) => subscribed(e.events, event.type));
    if (targets.length === 0) return;
    const ce = toCloudEvent(event, source);
    const body = JSON.stringify(ce);
    const team = typeof event.details.team === 'string' ? event.details.team : undefined;
    await Promise.all(targets.map((t) => queue.add({ id: ce.id, endpoint: t.name, type: ce.type, subject: ce.subject, ...(team ? { team } : {}), body })));
  };
}
