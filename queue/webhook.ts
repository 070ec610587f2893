/**
 * Job `deliver` on the `webhooks` queue: one webhook delivery, retried with growing delays for
 * about 24 hours (5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h at the default
 * `notifications.retryBaseMs` of 5 s), the same `webhook-id` and body at every attempt as
 * Standard Webhooks asks, so receivers de-duplicate. A 410 Gone disables the endpoint (no more
 * deliveries to it until an admin enables it again); every attempt is recorded.
 */
import { Queue, UnrecoverableError, Worker, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';
import { attemptDelivery } from '../src/events';
import type { RedisDeliveryLog } from '../src/events';
import type { Delivery, DeliveryQueue, Endpoint } from '../src/events';
import type { Logger } from '../src/lib/logger';
import { bullPrefix } from './names';

export const WEBHOOK_QUEUE = 'webhooks';

/** Delay of each retry as a multiple of `retryBaseMs`: 5 s … 8 h at the default, ~23.7 h in all. */
export const RETRY_FACTORS = [1, 6, 24, 120, 360, 720, 1440, 2880, 5760, 5760] as const;

export const deliveryPayload = z.strictObject({
  id: z.string().min(1).max(100),
  endpoint: z.string().min(1).max(63),
  type: z.string().min(1).max(200),
  subject: z.string().min(1).max(500),
  team: z.string().max(100).optional(),
  body: z.string(),
});

export class WebhookQueue implements DeliveryQueue {
  readonly queue: Queue;

  constructor(connection: ConnectionOptions, redisPrefix: string) {
    this.queue = new Queue(WEBHOOK_QUEUE, { connection, prefix: bullPrefix(redisPrefix) });
    // The queue shares the API's `store` connection, whose errors lib/redis.ts logs once per
    // outage; without a listener BullMQ would print each one to stderr as a plain dump.
    this.queue.on('error', () => undefined);
  }

  async add(d: Delivery): Promise<void> {
    await this.queue.add('deliver', d, {
      jobId: `${d.endpoint}-${d.id}`,
      attempts: RETRY_FACTORS.length + 1,
      backoff: { type: 'webhook' },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface WebhookWorkerDeps {
  endpoints: readonly Endpoint[];
  log: RedisDeliveryLog;
  retryBaseMs: number;
  logger: Logger;
  /** Counts each attempt's outcome (metrics). */
  observe?: (outcome: 'delivered' | 'retrying' | 'failed' | 'disabled') => void;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

export function startWebhookWorker(connection: ConnectionOptions, redisPrefix: string, deps: WebhookWorkerDeps): Worker {
  const log = deps.logger.child({ module: 'webhooks' });
  const byName = new Map(deps.endpoints.map((e) => [e.name, e]));
  const worker = new Worker(WEBHOOK_QUEUE, async (job) => {
    const d = deliveryPayload.parse(job.data);
    const attempt = job.attemptsMade + 1;
    const last = attempt >= (job.opts.attempts ?? 1);
    const endpoint = byName.get(d.endpoint);
    const base = { id: d.id, endpoint: d.endpoint, type: d.type, subject: d.subject, ...(d.team ? { team: d.team } : {}), attempt };
    const record = async (outcome: 'delivered' | 'retrying' | 'failed' | 'disabled', extra: { status?: number; error?: string } = {}) => {
      await deps.log.record({ ...base, outcome, ...extra, at: new Date().toISOString() });
      deps.observe?.(outcome);
    };
    // Removed from the configuration, or disabled by a 410 since this was queued.
    if (!endpoint || (await deps.log.isDisabled(d.endpoint))) {
      await record('disabled', { error: endpoint ? 'endpoint disabled' : 'endpoint no longer configured' });
      throw new UnrecoverableError(`webhook endpoint ${d.endpoint} is disabled or gone`);
    }
    const result = await attemptDelivery(endpoint, d.id, d.body, deps.timeoutMs);
    if (result.kind === 'delivered') return record('delivered', { status: result.status });
    if (result.kind === 'gone') {
      await deps.log.disable(d.endpoint, 'answered 410 Gone');
      await record('disabled', { status: 410 });
      log.warn({ endpoint: d.endpoint, 'event.outcome': 'failure' }, 'webhook endpoint answered 410 Gone: disabled');
      throw new UnrecoverableError(`webhook endpoint ${d.endpoint} answered 410 Gone`);
    }
    const extra = { ...(result.status ? { status: result.status } : {}), ...(result.error ? { error: result.error } : {}) };
    await record(last ? 'failed' : 'retrying', extra);
    throw new Error(`webhook ${d.endpoint}: ${result.status ? `answered ${result.status}` : result.error}`);
  }, {
    connection, prefix: bullPrefix(redisPrefix), concurrency: 8,
    settings: { backoffStrategy: (attemptsMade: number) => deps.retryBaseMs * RETRY_FACTORS[Math.min(attemptsMade, RETRY_FACTORS.length) - 1] },
  });
  worker.on('error', (err) => log.error({ error: err }, 'webhook worker error'));
  return worker;
}
