/**
 * Upload sessions each process has open on the internal registry, in Redis, so that another
 * process can cancel those of one that was killed mid-upload (issue 8.6). Each process (owner)
 * keeps one hash `uploads:{owner}` (session path → {repository, location}) and renews a
 * liveness key `uploads-alive:{owner}` with a TTL; an owner whose liveness key expired is gone,
 * and its sessions are abandoned. Structurally the registry's UploadJournal and
 * AbandonedUploads (the store does not import the registry).
 */
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';

interface Entry { repository: string; location: string }

export interface RedisUploadJournalOptions {
  /** How long an owner counts as alive after its last renewal. */
  ttlMs: number;
  /** @defaultValue a random id per process */
  owner?: string;
  /** @defaultValue Date.now */
  now?: () => number;
}

export class RedisUploadJournal {
  readonly owner: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  /** When this process last set its liveness key (a command sent at that time that succeeded). */
  private renewedAt = -Infinity;

  constructor(private readonly redis: Redis, private readonly prefix: string, options: RedisUploadJournalOptions) {
    this.owner = options.owner ?? randomUUID();
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
  }

  private sessions(owner: string): string { return `${this.prefix}:uploads:${owner}`; }
  private alive(owner: string): string { return `${this.prefix}:uploads-alive:${owner}`; }

  /** Renews this process's liveness; call more often than `ttlMs`. */
  async renew(): Promise<void> {
    const at = this.now();
    await this.redis.set(this.alive(this.owner), '1', 'PX', this.ttlMs);
    this.renewedAt = Math.max(this.renewedAt, at);
  }

  /**
   * Notes a session. Its owner must count as alive while it is open: the liveness key is set
   * with the note unless this process set it less than a third of `ttlMs` ago (it then has at
   * least two thirds of its TTL to run, and the periodic renewal goes on), so a burst of uploads
   * costs one command each instead of a MULTI of two (issue 17: 3 of the ~5 Redis commands per
   * blob). Set first, in the same round trip: nobody sees the note of an owner not alive.
   */
  async opened(repository: string, location: URL): Promise<void> {
    const entry: Entry = { repository, location: location.href };
    const at = this.now();
    const note = (): Promise<unknown> => this.redis.hset(this.sessions(this.owner), location.pathname, JSON.stringify(entry));
    if (at - this.renewedAt < this.ttlMs / 3) {
      await note();
      return;
    }
    const [alive] = await Promise.all([this.redis.set(this.alive(this.owner), '1', 'PX', this.ttlMs), note()]);
    if (alive === 'OK') this.renewedAt = Math.max(this.renewedAt, at);
  }

  async closed(location: URL): Promise<void> {
    await this.redis.hdel(this.sessions(this.owner), location.pathname);
  }

  /** Sessions of owners whose liveness expired (never this process's own). */
  async abandoned(): Promise<Array<{ repository: string; location: URL; forget(): Promise<void> }>> {
    const out: Array<{ repository: string; location: URL; forget(): Promise<void> }> = [];
    const match = `${this.prefix}:uploads:*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 200);
      cursor = next;
      for (const key of keys) {
        const owner = key.slice(`${this.prefix}:uploads:`.length);
        if (owner === this.owner || (await this.redis.exists(this.alive(owner)))) continue;
        for (const [field, raw] of Object.entries(await this.redis.hgetall(key))) {
          const forget = async () => { await this.redis.hdel(key, field); };
          let entry: Entry;
          try {
            entry = JSON.parse(raw) as Entry;
            out.push({ repository: entry.repository, location: new URL(entry.location), forget });
          } catch {
            await forget(); // not ours to act on: a note that does not parse is dropped
          }
        }
      }
    } while (cursor !== '0');
    return out;
  }
}
