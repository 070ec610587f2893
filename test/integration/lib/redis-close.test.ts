/**
 * closeRedis at shutdown, on the real Redis: a QUIT whose reply never arrives because the socket
 * closed first (ioredis: "Connection is closed.") is a closed connection, not a failed step; a
 * normal QUIT closes; any other error is still thrown.
 */
import { once } from 'node:events';
import Redis from 'ioredis';
import { closeRedis } from '../../../src/lib/redis';
import { services } from '../../harness/services';

describe('closeRedis', () => {
  const svc = services();

  it('closes with QUIT, and counts a socket closed before its reply as closed', async () => {
    const normal = new Redis(svc.redis.url);
    await normal.ping();
    const ended = once(normal, 'end');
    await closeRedis(normal);
    await ended;

    const cut = new Redis(svc.redis.url);
    await cut.ping();
    // QUIT sent, then the socket goes before its reply is read: what a stopped process saw.
    const quit = closeRedis(cut);
    cut.stream.destroy();
    await expect(quit).resolves.toBeUndefined();
    expect(cut.status).toBe('end');
    // What plain QUIT does in the same case.
    const plain = new Redis(svc.redis.url);
    await plain.ping();
    const p = plain.quit();
    plain.stream.destroy();
    await expect(p).rejects.toThrow('Connection is closed.');
  });

  it('still throws an error that is not a closed connection', async () => {
    const r = new Redis(svc.redis.url);
    await r.ping();
    (r as unknown as { quit: () => Promise<string> }).quit = async () => { throw new Error('READONLY'); };
    await expect(closeRedis(r)).rejects.toThrow('READONLY');
    r.disconnect();
  });
});
