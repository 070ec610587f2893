/**
 * The connection factory on a real Sentinel set: both kinds of connection (store, and the
 * worker's blocking one) follow a switchover in which the old primary stays up and is demoted
 * (`SENTINEL FAILOVER`), without ioredis's failoverDetector (see lib/redis.ts): the demoted
 * node drops its clients or answers READONLY, and the clients ask Sentinel again.
 */
import Redis from 'ioredis';
import { createLogger } from '../../../src/lib/logger';
import { confirmReplicated, createRedis, type RedisSettings } from '../../../src/lib/redis';
import { startSentinelSet, type SentinelSet } from '../../harness/sentinel';

describe('Redis connections under Sentinel', () => {
  let set: SentinelSet;
  const clients: Redis[] = [];
  beforeAll(async () => { set = await startSentinelSet(); });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await set.stop();
  });

  it('confirmReplicated passes once the replica holds the write, and refuses (503, temporary) when fewer replicas acknowledge', async () => {
    const settings: RedisSettings = { url: 'redis://127.0.0.1', prefix: 'ack', sentinels: set.sentinels, sentinelName: set.name, commandTimeoutMs: 10_000, replicasToAck: 1, replicaAckTimeoutMs: 2000 };
    const store = createRedis(settings, 'store', createLogger({ level: 'silent' }));
    clients.push(store);
    await store.set('ack:one', 'x');
    await confirmReplicated(store, settings);
    const replica = new Redis({ host: '127.0.0.1', port: set.replica.port });
    clients.push(replica);
    expect(await replica.get('ack:one')).toBe('x');
    await store.set('ack:two', 'y');
    // Two replicas asked of a set that has one: WAIT answers 1 after its timeout.
    await expect(confirmReplicated(store, { replicasToAck: 2, replicaAckTimeoutMs: 200 })).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', temporary: true });
    await expect(confirmReplicated(store, { replicasToAck: 0, replicaAckTimeoutMs: 200 })).resolves.toBeUndefined();
  });

  it('follow a switchover where the old primary stays up: writes land on the new primary, a blocked worker wakes', async () => {
    const settings: RedisSettings = { url: 'redis://127.0.0.1', prefix: 'sw', sentinels: set.sentinels, sentinelName: set.name, commandTimeoutMs: 10_000, replicasToAck: 0, replicaAckTimeoutMs: 100 };
    const logger = createLogger({ level: 'silent' });
    const store = createRedis(settings, 'store', logger);
    const worker = createRedis(settings, 'worker', logger);
    const sentinel = new Redis({ host: '127.0.0.1', port: set.sentinels[0].port });
    clients.push(store, worker, sentinel);
    await store.set('sw:before', '1');
    await worker.ping();
    const blocked = worker.bzpopmin('sw:jobs', 0);

    expect(await sentinel.call('SENTINEL', 'FAILOVER', set.name)).toBe('OK');
    const newPort = await set.waitForFailover(set.primary.port);
    expect(newPort).toBe(set.replica.port);

    await store.set('sw:after', '2');
    await store.zadd('sw:jobs', 1, 'job-1');
    expect(await blocked).toEqual(['sw:jobs', 'job-1', '1']);
    const direct = new Redis({ host: '127.0.0.1', port: newPort });
    clients.push(direct);
    expect(await direct.mget('sw:before', 'sw:after')).toEqual(['1', '2']);
  });
});
