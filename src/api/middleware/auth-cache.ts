/**
 * Authenticated principals remembered for one second per API process, so that CI's lookups do
 * not pay a Redis round trip for the identity on every call (the disabled-principal check of
 * role hygiene, a robot's record). Keyed by the SHA-256 of the token (the token is not kept);
 * refusals are never remembered, so a bad token costs what it did.
 *
 * How long a change to an identity can go unseen:
 * - disabling, deleting or rotating a robot, disabling a principal (an admin or the hygiene
 *   job, in any process): every process's cache is emptied when the change is published
 *   (`identityChangeAnnouncer` in the process that made it, PUBLISH on
 *   `${prefix}:identity:changed`, `listenIdentityChanges` in each API process), within
 *   milliseconds; if that message is lost (the subscriber was reconnecting), after
 *   {@link PRINCIPAL_CACHE_MS} at most;
 * - an edited tokens file, a JWT's expiry, a rotated robot token's overlap ending: after
 *   {@link PRINCIPAL_CACHE_MS} at most, on the identity clock (a JWT is already accepted up to
 *   `auth.clockSkewSeconds` past its `exp`: one more second is within that tolerance).
 * An authentication that started before a change does not fill the cache after it (generation
 * count), so an emptied cache cannot be refilled with the old answer.
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import type { IdentityProvider, Principal } from '../../lib/identity/types';
import type { Logger } from '../../lib/logger';

/** The longest a principal is remembered: a disabled one loses access within this, at worst. */
export const PRINCIPAL_CACHE_MS = 1000;
const MAX_ENTRIES = 10_000;

interface Entry { principal: Principal; until: number }

/** An IdentityProvider that remembers the inner one's principals briefly. */
export class CachedIdentity implements IdentityProvider {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;

  constructor(private readonly inner: IdentityProvider, private readonly ttlMs = PRINCIPAL_CACHE_MS, private readonly now: () => number = Date.now) {}

  async authenticate(token: string): Promise<Principal | null> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.entries.get(key);
    if (hit && this.now() < hit.until) return copy(hit.principal);
    if (hit) this.entries.delete(key);
    const generation = this.generation;
    const principal = await this.inner.authenticate(token);
    if (principal && generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.evict();
      this.entries.set(key, { principal: copy(principal), until: this.now() + this.ttlMs });
    }
    return principal;
  }

  /** Forgets every principal (an identity changed somewhere). */
  clear(): void {
    this.generation++;
    this.entries.clear();
  }

  private evict(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (now >= e.until) this.entries.delete(k);
    // Still full (a burst of distinct valid tokens): oldest first, so memory stays bounded.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
  }
}

function copy(p: Principal): Principal {
  return { ...p, roles: [...p.roles], teams: [...p.teams], ...(p.groups ? { groups: [...p.groups] } : {}) };
}

/** The channel on which identity changes are announced to every API process. */
export const identityChannel = (prefix: string): string => `${prefix}:identity:changed`;

/** Whether an event changes who may authenticate (robots, disabled principals). */
export function isIdentityChange(type: string): boolean {
  return type.startsWith('robot.') || type.startsWith('principal.');
}

/** An event-bus subscriber (every process): announces identity changes to every API process. */
export function identityChangeAnnouncer(redis: Pick<Redis, 'publish'>, prefix: string): (event: { type: string }) => Promise<void> {
  return async (event) => {
    if (isIdentityChange(event.type)) await redis.publish(identityChannel(prefix), event.type);
  };
}

/** An event-bus subscriber (the API process): empties its own cache at once, before the call that made the change returns. */
export function clearOnIdentityChange(cache: Pick<CachedIdentity, 'clear'>): (event: { type: string }) => void {
  return (event) => { if (isIdentityChange(event.type)) cache.clear(); };
}

/**
 * Empties `cache` whenever any process announces an identity change. `subscriber` is a
 * connection of its own (subscriber mode); whenever it (re)connects the cache is emptied too,
 * since messages sent while it was away are lost. Returns a stop function.
 */
export function listenIdentityChanges(subscriber: Redis, prefix: string, cache: Pick<CachedIdentity, 'clear'>, logger?: Logger): () => void {
  const channel = identityChannel(prefix);
  const onMessage = (ch: string): void => { if (ch === channel) cache.clear(); };
  const onReady = (): void => { cache.clear(); };
  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);
  // Not awaited: the API starts (and answers 503) while Redis is away; ioredis subscribes once it answers.
  subscriber.subscribe(channel).catch((err: unknown) => logger?.warn({ error: err }, 'identity changes not heard until Redis answers; principals are remembered 1 s at most'));
  return () => {
    subscriber.off('message', onMessage);
    subscriber.off('ready', onReady);
  };
}
