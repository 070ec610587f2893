/**
 * High availability on Debian's real redis-sentinel: a primary, a replica and three sentinels
 * on loopback. The service runs with `redis.sentinels` for every connection (its stores, the
 * API and BullMQ's worker). One request is approved first; a second is held inside its
 * staging step (the gate holds its layer's GET) while the primary is SIGKILLed and the
 * sentinels promote the replica. After the failover the held request completes, and nothing
 * written before is lost: both requests, the first approval, and an audit chain that verifies
 * and holds every entry from before the kill.
 *
 * Replication is asynchronous: a write acknowledged in the last moments before the kill may
 * not have reached the replica (what `confirmReplicated`, Redis WAIT, closes for critical
 * writes). The test waits for the replica to hold everything the primary acknowledged before
 * it kills the primary, so that it tests the failover path, not that race.
 */
import Redis from 'ioredis';
import { startTestApp, type TestApp } from '../../harness/app';
import { startGate, type Gate } from '../../harness/gate';
import { buildImage, pushImage, randomFile, type BuiltImage } from '../../harness/images';
import { waitFor } from '../../harness/proc';
import { startSentinelSet, type SentinelSet } from '../../harness/sentinel';
import { services, uniqueName } from '../../harness/services';

/** The replication offset a node reports (`master_repl_offset`). */
async function replOffset(port: number): Promise<number> {
  const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    return Number(/master_repl_offset:(\d+)/.exec(await c.info('replication'))?.[1]);
  } finally {
    c.disconnect();
  }
}

describe('Redis Sentinel failover in the middle of a request', () => {
  const svc = services();
  let set: SentinelSet;
  let gate: Gate;
  let app: TestApp;
  const repo = uniqueName('ha');
  let first: BuiltImage;
  let held: BuiltImage;

  beforeAll(async () => {
    first = await buildImage({ layers: [{ files: { 'etc/first.conf': 'first\n' } }] });
    held = await buildImage({ layers: [{ files: { 'blob.bin': randomFile(200 * 1024) } }] });
    await pushImage(svc.upstream.url, repo, 'first', first);
    await pushImage(svc.upstream.url, repo, 'held', held);
    gate = await startGate(svc.upstream.url, held.layers[0].digest);
    set = await startSentinelSet();
    app = await startTestApp({
      upstreamEndpoint: gate.url,
      // `url` gives no host with sentinels: they name the primary.
      config: { redis: { url: 'redis://127.0.0.1', prefix: uniqueName('ha'), sentinels: set.sentinels, sentinelName: set.name, commandTimeoutMs: 10_000 } },
    });
  });
  afterAll(async () => {
    await app?.stop();
    await gate?.close();
    await set?.stop();
  });

  it('completes the request after the failover and loses no request, approval or audit entry', async () => {
    const image = (tag: string) => `${svc.upstream.host}/${repo}:${tag}`;
    const a = await app.call('dev', 'POST', '/v1/requests', { image: image('first'), team: 'payments', justification: 'before the failover' });
    expect(a.status).toBe(202);
    expect((await app.waitForStatus(a.body.id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${a.body.id}/approve`, {})).status).toBe(202);
    expect((await app.waitForStatus(a.body.id, ['approved', 'failed'])).status).toBe('approved');

    const b = await app.call('dev', 'POST', '/v1/requests', { image: image('held'), team: 'payments', justification: 'during the failover' });
    expect(b.status).toBe(202);
    await gate.held; // the worker is inside staging, waiting for the layer
    const before = await app.services.audit.list(0, 1000);
    const oldPort = set.primary.port;
    await waitFor(async () => (await replOffset(set.replica.port)) >= (await replOffset(oldPort)), 'the replica to catch up');

    await set.killPrimary();
    const newPort = await set.waitForFailover(oldPort);
    expect(newPort).toBe(set.replica.port);
    gate.open();

    expect((await app.waitForStatus(b.body.id, ['awaiting_approval', 'failed'])).status).toBe('awaiting_approval');
    expect((await app.call('approver', 'POST', `/v1/requests/${b.body.id}/approve`, {})).status).toBe(202);
    const done = await app.waitForStatus(b.body.id, ['approved', 'failed']);
    expect(done.status).toBe('approved');
    expect(done.source.digest).toBe(held.digest);

    // Nothing from before the kill is lost.
    expect((await app.call('auditor', 'GET', `/v1/requests/${a.body.id}`)).body.status).toBe('approved');
    const approved = await app.call('ci', 'GET', `/v1/approved?image=${encodeURIComponent(image('first'))}&team=payments`);
    expect(approved.status).toBe(200);
    expect(JSON.stringify(approved.body)).toContain(first.digest);
    const after = await app.services.audit.list(0, 1000);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.length).toBeGreaterThan(before.length);
    expect(after.filter((e) => e.target.includes(b.body.id)).map((e) => e.action)).toContain('request.approved');
    const verified = await app.services.audit.verify();
    expect(verified).toMatchObject({ ok: true, count: after.length });
  });
});
