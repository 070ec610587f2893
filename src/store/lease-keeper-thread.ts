/**
 * The step-lease keeper's thread (started by ./lease-keeper.ts): renews the leases its process
 * holds, on its own Redis connection and its own event loop, so that a main thread busy for a
 * while (a 20,000-entry index parsed under load, a long GC) keeps its leases, while a process
 * that died loses them one TTL later. The main thread writes the time into a shared slot every
 * second; a process whose main thread has not done so for `maxStallMs` is taken as hung and its
 * leases are left to lapse, as a dead one's would.
 */
import Redis from 'ioredis';
import { parentPort, workerData } from 'node:worker_threads';
import { redisOptions, type RedisSettings } from '../lib/redis';
import { RENEW_LEASE, type KeeperData, type KeeperMessage, type KeeperReply } from './lease-keeper-protocol';

const data = workerData as KeeperData & { settings: RedisSettings };
const beat = new BigInt64Array(data.heartbeat);
const redis = new Redis(data.settings.url, redisOptions(data.settings, 'store'));
// A Redis outage: renewals fail until it is back (the TTL leaves room for a few misses).
redis.on('error', () => undefined);
// By key and token: two runs of one step in this process (a stalled one and the one that took
// over once its lease lapsed) are two entries, each renewed, or found lost, on its own.
const held = new Map<string, { key: string; token: string; ttlMs: number }>();
const id = (key: string, token: string): string => `${key} ${token}`;

const port = parentPort!;
port.on('message', (m: KeeperMessage) => {
  if (m.t === 'hold') held.set(id(m.key, m.token), { key: m.key, token: m.token, ttlMs: m.ttlMs });
  else if (m.t === 'drop') held.delete(id(m.key, m.token));
  else if (m.t === 'stop') { redis.disconnect(); port.close(); }
});

let busy = false;
setInterval(() => {
  if (busy || held.size === 0) return;
  if (Date.now() - Number(Atomics.load(beat, 0)) > data.maxStallMs) return;
  busy = true;
  const batch = [...held.values()];
  const pipe = redis.pipeline();
  for (const { key, token, ttlMs } of batch) pipe.eval(RENEW_LEASE, 1, key, token, String(ttlMs));
  pipe.exec()
    .then((replies) => {
      batch.forEach(({ key, token }, i) => {
        const [err, n] = replies?.[i] ?? [null, 0];
        if (err || Number(n) === 1 || !held.has(id(key, token))) return;
        // Gone or taken by another run: this holder was stalled past the TTL (or the key was removed).
        held.delete(id(key, token));
        const reply: KeeperReply = { t: 'lost', key, token };
        port.postMessage(reply);
      });
    })
    .catch(() => undefined)
    .finally(() => { busy = false; });
}, data.renewEveryMs);

port.postMessage({ t: 'ready' } satisfies KeeperReply);
