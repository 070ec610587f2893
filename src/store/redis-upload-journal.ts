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

/**
 * A note and its owner's liveness in one command (EVALSHA): KEYS[1] the liveness key, KEYS[2]
 * the owner's sessions; ARGV: TTL in ms, session path, entry.
 */
const NOTE = `
redis.call('set', KEYS[1], '1', 'PX', ARGV[1])
return redis.call('hset', KEYS[2], ARGV[2], ARGV[3])
`;

/**
 * The sessions of an owner that is not alive, read in the same script that checks it (KEYS[1]
 * the liveness key, KEYS[2] the sessions): nil while the owner is alive. Two commands let an
 * owner come back between the check and the read, and the sessions it noted meanwhile, live
 * uploads, were taken as abandoned and cancelled.
 */
const ABANDONED = `
if redis.call('exists', KEYS[1]) == 1 then return false end
return redis.call('hgetall', KEYS[2])
`;

export interface RedisUploadJournalOptions {
  /** How long an owner counts as alive after its last renewal. */
  ttlMs: number;
  /** @defaultValue a random id per process */
  owner?: string;
}

export class RedisUploadJournal {
  readonly owner: string;
  private readonly ttlMs: number;
  private readonly redis: Redis & {
    portcullisUploadNote(...args: string[]): Promise<unknown>;
    portcullisUploadsAbandoned(alive: string, sessions: string): Promise<string[] | null>;
  };

  constructor(redis: Redis, private readonly prefix: string, options: RedisUploadJournalOptions) {
    this.owner = options.owner ?? randomUUID();
    this.ttlMs = options.ttlMs;
    // defineCommand: EVALSHA, EVAL once per connection when the script is not cached yet (a restarted Redis too).
    if (!('portcullisUploadNote' in redis)) redis.defineCommand('portcullisUploadNote', { numberOfKeys: 2, lua: NOTE });
    if (!('portcullisUploadsAbandoned' in redis)) redis.defineCommand('portcullisUploadsAbandoned', { numberOfKeys: 2, lua: ABANDONED });
    this.redis = redis as RedisUploadJournal['redis'];
  }

  private sessions(owner: string): string { return `${this.prefix}:uploads:${owner}`; }
  private alive(owner: string): string { return `${this.prefix}:uploads-alive:${owner}`; }

  /** Renews this process's liveness; call more often than `ttlMs`. */
  async renew(): Promise<void> {
    await this.redis.set(this.alive(this.owner), '1', 'PX', this.ttlMs);
  }

  /**
   * Notes a session. Its owner must count as alive while it is open, so the note sets the
   * liveness key in the same script: nobody sees the note of an owner not alive, even just after
   * the key was lost (a Redis restarted without persistence), and a burst of uploads costs one
   * command each (issue 17: a MULTI of two was 3 of the ~5 Redis commands per blob). A shortcut
   * that skipped the liveness write for a while after a renewal could not notice a lost key.
   */
  async opened(repository: string, location: URL): Promise<void> {
    const entry: Entry = { repository, location: location.href };
    await this.redis.portcullisUploadNote(this.alive(this.owner), this.sessions(this.owner), String(this.ttlMs), location.pathname, JSON.stringify(entry));
  }

  async closed(location: URL): Promise<void> {
    await this.redis.hdel(this.sessions(this.owner), location.pathname);
  }

  /**
   * Sessions of owners whose liveness expired (never this process's own), each owner's checked
   * and read at one instant. An owner that comes back later (a stalled process) has lost the
   * sessions read here: they were noted before it lapsed, and a lapsed owner's sessions are the
   * cleanup's; those it notes after coming back are not among them.
   */
  async abandoned(): Promise<Array<{ repository: string; location: URL; forget(): Promise<void> }>> {
    const out: Array<{ repository: string; location: URL; forget(): Promise<void> }> = [];
    const match = `${this.prefix}:uploads:*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', 200);
      cursor = next;
      for (const key of keys) {
        const owner = key.slice(`${this.prefix}:uploads:`.length);
        if (owner === this.owner) continue;
        const flat = await this.redis.portcullisUploadsAbandoned(this.alive(owner), key);
        for (let i = 0; flat && i + 1 < flat.length; i += 2) {
          const field = flat[i];
          const raw = flat[i + 1];
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
