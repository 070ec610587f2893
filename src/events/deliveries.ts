/**
 * What happened to each webhook delivery, for `GET /v1/notifications/deliveries`, and which
 * endpoints are disabled (an endpoint that answered 410 Gone asked never to be called again).
 * Records live in one capped Redis stream, newest last; the cap keeps the most recent ones.
 */
import type Redis from 'ioredis';

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed' | 'disabled';

export interface DeliveryRecord {
  /** The CloudEvent id, the same for every attempt (the `webhook-id` header). */
  id: string;
  endpoint: string;
  type: string;
  subject: string;
  /** The team the event is about, for team isolation of the listing; absent for system events. */
  team?: string;
  attempt: number;
  outcome: DeliveryOutcome;
  /** The endpoint's HTTP status, when it answered. */
  status?: number;
  /** Why it failed (a network error, a timeout), when it did not answer. */
  error?: string;
  at: string;
}

export interface DeliveryQuery {
  /** Teams whose deliveries the caller may read; `'*'` for all, system events included. */
  teams: readonly string[] | '*';
  endpoint?: string;
  limit: number;
  /** Stream id of the last record of the previous page. */
  before?: string;
}

/** Records kept (approximately: Redis trims whole nodes). */
const KEEP = 10_000;
/** Records read per page at most while filtering, so one call's work stays bounded. */
const SCAN = 2_000;

export class RedisDeliveryLog {
  private readonly stream: string;
  private readonly disabled: string;

  constructor(private readonly redis: Redis, prefix: string) {
    this.stream = `${prefix}:webhooks:deliveries`;
    this.disabled = `${prefix}:webhooks:disabled`;
  }

  async record(r: DeliveryRecord): Promise<void> {
    await this.redis.xadd(this.stream, 'MAXLEN', '~', String(KEEP), '*', 'record', JSON.stringify(r));
  }

  /** Newest first; `next` resumes after the last record read (returned even when filtered out). */
  async list(q: DeliveryQuery): Promise<{ items: DeliveryRecord[]; next: string | null }> {
    const rows = await this.redis.xrevrange(this.stream, q.before ? `(${q.before}` : '+', '-', 'COUNT', SCAN);
    const items: DeliveryRecord[] = [];
    for (const [id, fields] of rows) {
      const r = JSON.parse(fields[1]) as DeliveryRecord;
      const visible = q.teams === '*' || (r.team !== undefined && q.teams.includes(r.team));
      if (visible && (!q.endpoint || r.endpoint === q.endpoint)) items.push(r);
      if (items.length === q.limit) return { items, next: id };
    }
    return { items, next: rows.length === SCAN ? rows[rows.length - 1][0] : null };
  }

  async disable(endpoint: string, reason: string): Promise<void> {
    await this.redis.hset(this.disabled, endpoint, JSON.stringify({ reason, at: new Date().toISOString() }));
  }

  async enable(endpoint: string): Promise<boolean> {
    return (await this.redis.hdel(this.disabled, endpoint)) === 1;
  }

  async isDisabled(endpoint: string): Promise<boolean> {
    return (await this.redis.hexists(this.disabled, endpoint)) === 1;
  }
}
