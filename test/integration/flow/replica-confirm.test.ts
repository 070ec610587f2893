/**
 * Critical writes wait for a replica under Sentinel (`redis.sentinels` with
 * `redis.replicasToAck: 1`), on Debian's real redis-sentinel set. An approval goes through
 * while the replica keeps up, and the replica then holds the ledger entry the moment the API
 * answered. With the replica frozen (SIGSTOP: it holds its connection but acknowledges
 * nothing), a revocation answers 503 DEPENDENCY_UNAVAILABLE (temporary): its write is on the
 * primary (the deny-list entry is there and CI's lookup already refuses), but no replica
 * confirmed it, so the caller is not told it is safe. Once the replica runs again the same
 * call, repeated, succeeds and the replica holds the deny-list entry.
 */
import Redis from 'ioredis';
import { startTestApp, type TestApp } from '../../harness/app';
import { buildImage, pushImage } from '../../harness/images';
import { startSentinelSet, type SentinelSet } from '../../harness/sentinel';
import { services, uniqueName } from '../../harness/services';

describe('critical writes confirmed by a replica', () => {
  const svc = services();
  let set: SentinelSet;
  let app: TestApp;
  let replica: Redis;
  let primary: Redis;
  const prefix = uniqueName('ack');
  const repo = uniqueName('ack');

  beforeAll(async () => {
    await pushImage(svc.upstream.url, repo, '1.0', await buildImage({ layers: [{ files: { 'etc/ack.conf': 'ack\n' } }] }));
    set = await startSentinelSet();
    replica = new Redis({ host: '127.0.0.1', port: set.replica.port, maxRetriesPerRequest: 1 });
    primary = new Redis({ host: '127.0.0.1', port: set.primary.port, maxRetriesPerRequest: 1 });
    app = await startTestApp({
      config: { redis: { url: 'redis://127.0.0.1', prefix, sentinels: set.sentinels, sentinelName: set.name, commandTimeoutMs: 10_000, replicasToAck: 1, replicaAckTimeoutMs: 500 } },
    });
  });
  afterAll(async () => {
    try { process.kill(set.replica.pid, 'SIGCONT'); } catch { /* not stopped */ }
    replica?.disconnect();
    primary?.disconnect();
    await app?.stop();
    await set?.stop();
  });

  it('answers an approval once the replica holds it, and a revocation the frozen replica cannot confirm with 503 (the write stays)', async () => {
    const image = `${svc.upstream.host}/${repo}:1.0`;
    const created = await app.call('dev', 'POST', '/v1/requests', { image, team: 'payments', justification: 'replicas' });
    expect(created.status).toBe(202);
    expect((await app.waitForStatus(created.body.id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${created.body.id}/approve`, {})).status).toBe(202);
    const approved = await app.waitForStatus(created.body.id, ['approved', 'failed']);
    expect(approved.status).toBe('approved');
    const lookup = `/v1/approved?image=${encodeURIComponent(image)}&team=payments`;
    expect((await app.call('ci', 'GET', lookup)).status).toBe(200);
    // Confirmed before it was reported: the replica already holds the ledger entry.
    const digest = approved.stagedDigest ?? approved.source.digest;
    expect(await replica.keys(`${prefix}:approval:payments|*|${digest}`)).toHaveLength(1);

    process.kill(set.replica.pid, 'SIGSTOP');
    let refused;
    try {
      refused = await app.call('admin', 'POST', '/v1/approvals/revoke', { digest, team: 'payments', reason: 'replica frozen' });
    } finally {
      process.kill(set.replica.pid, 'SIGCONT');
    }
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
    // The write itself stayed on the primary: denied, and no longer served.
    expect(Object.values(await primary.hgetall(`${prefix}:revoked:payments|${digest}`)).map((j) => JSON.parse(j).reason)).toEqual(['replica frozen']);
    expect((await app.call('ci', 'GET', lookup)).status).toBe(404);

    // What the caller does with that 503: repeat the call once Redis is healthy.
    const again = await app.call('admin', 'POST', '/v1/approvals/revoke', { digest, team: 'payments', reason: 'replica back' });
    expect(again.status).toBe(200);
    expect((await app.waitForStatus(created.body.id, ['revoked'])).status).toBe('revoked');
    expect(Object.values(await replica.hgetall(`${prefix}:revoked:payments|${digest}`)).map((j) => JSON.parse(j).reason)).toEqual(['replica back']);
  }, 180_000);
});
