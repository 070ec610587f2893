/**
 * Principals remembered one second per API process (api/middleware/auth-cache.ts): what is
 * remembered, what never is, and how an identity change empties every process's cache over
 * the real Redis pub/sub.
 */
import Redis from 'ioredis';
import { CachedIdentity, clearOnIdentityChange, identityChangeAnnouncer, listenIdentityChanges, PRINCIPAL_CACHE_MS } from '../../../src/api/middleware/auth-cache';
import { AppError } from '../../../src/lib/errors';
import type { IdentityProvider, Principal } from '../../../src/lib/identity/types';
import { services, uniqueName } from '../../harness/services';

/** A provider whose answers the test sets, counting how often it is asked. */
class Switchable implements IdentityProvider {
  calls = 0;
  disabled = new Set<string>();
  gate: Promise<void> | null = null;
  async authenticate(token: string): Promise<Principal | null> {
    this.calls++;
    if (this.gate) await this.gate;
    if (token === 'bad') return null;
    if (this.disabled.has(token)) throw new AppError('PRINCIPAL_DISABLED', `${token} is disabled`);
    return { name: token, roles: ['ci'], teams: ['payments'], subject: `tokens-file:${token}` };
  }
}

describe('remembered principals', () => {
  it('asks the provider once per token and second, never remembers a refusal, and forgets on clear()', async () => {
    let t = 0;
    const inner = new Switchable();
    const cache = new CachedIdentity(inner, PRINCIPAL_CACHE_MS, () => t);
    expect(await cache.authenticate('ci')).toMatchObject({ name: 'ci' });
    expect(await cache.authenticate('ci')).toMatchObject({ name: 'ci' });
    expect(inner.calls).toBe(1);
    expect(await cache.authenticate('bad')).toBeNull();
    expect(await cache.authenticate('bad')).toBeNull();
    expect(inner.calls).toBe(3);
    // A caller changing its copy does not change what the next one gets.
    (await cache.authenticate('ci'))!.roles.push('admin');
    expect((await cache.authenticate('ci'))!.roles).toEqual(['ci']);
    // Disabled: the remembered answer lasts until the second is over, not longer.
    inner.disabled.add('ci');
    t = PRINCIPAL_CACHE_MS - 1;
    expect(await cache.authenticate('ci')).toMatchObject({ name: 'ci' });
    t = PRINCIPAL_CACHE_MS;
    await expect(cache.authenticate('ci')).rejects.toMatchObject({ code: 'PRINCIPAL_DISABLED' });
    await expect(cache.authenticate('ci')).rejects.toMatchObject({ code: 'PRINCIPAL_DISABLED' });
    inner.disabled.clear();
    expect(await cache.authenticate('ci')).toMatchObject({ name: 'ci' });
    inner.disabled.add('ci');
    cache.clear();
    await expect(cache.authenticate('ci')).rejects.toMatchObject({ code: 'PRINCIPAL_DISABLED' });
  });

  it('does not remember an answer that was being computed when the cache was emptied', async () => {
    const inner = new Switchable();
    const cache = new CachedIdentity(inner);
    let open!: () => void;
    inner.gate = new Promise((resolve) => { open = resolve; });
    const pending = cache.authenticate('ci');
    cache.clear(); // e.g. the principal was disabled while its token was being checked
    open();
    expect(await pending).toMatchObject({ name: 'ci' });
    inner.gate = null;
    inner.disabled.add('ci');
    await expect(cache.authenticate('ci')).rejects.toMatchObject({ code: 'PRINCIPAL_DISABLED' });
  });

  it('empties the cache of every API process when any process announces an identity change over Redis, and only then', async () => {
    const prefix = uniqueName('authcache');
    const publisher = new Redis(services().redis.url);
    const subscribers = [new Redis(services().redis.url), new Redis(services().redis.url)];
    const inner = new Switchable();
    // Remembered a minute here: only the announcement can make them forget within the test.
    const caches = subscribers.map(() => new CachedIdentity(inner, 60_000));
    const stops = subscribers.map((s, i) => listenIdentityChanges(s, prefix, caches[i]));
    try {
      // Subscribed once the server counts both subscribers on the channel.
      for (let i = 0; i < 100 && Number(((await publisher.call('PUBSUB', 'NUMSUB', `${prefix}:identity:changed`)) as [string, number])[1]) < 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const c of caches) await c.authenticate('robot-1');
      expect(inner.calls).toBe(2);
      const announce = identityChangeAnnouncer(publisher, prefix);
      const local = clearOnIdentityChange(caches[0]);
      // Not an identity change: nothing is forgotten.
      await announce({ type: 'request.created' });
      local({ type: 'request.created' });
      inner.disabled.add('robot-1');
      await new Promise((r) => setTimeout(r, 100));
      for (const c of caches) expect(await c.authenticate('robot-1')).toMatchObject({ name: 'robot-1' });
      await announce({ type: 'robot.disabled' });
      for (const c of caches) {
        let refused = false;
        for (let i = 0; i < 100 && !refused; i++) {
          refused = await c.authenticate('robot-1').then(() => false, (err: AppError) => err.code === 'PRINCIPAL_DISABLED');
          if (!refused) await new Promise((r) => setTimeout(r, 10));
        }
        expect(refused).toBe(true);
      }
    } finally {
      stops.forEach((s) => s());
      subscribers.forEach((s) => s.disconnect());
      publisher.disconnect();
    }
  });
});
