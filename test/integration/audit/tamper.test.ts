/**
 * The four rewrites a Redis writer could do undetected before entries were authenticated and
 * checkpoints kept out of Redis (issue 8.4): each leaves `verify` failing now. The attacker
 * holds everything in Redis and knows the algorithm, but not PORTCULLIS_AUDIT_KEY.
 */
import { createHash, randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AuditKeyring, canonicalJson, readCheckpoints, RedisAuditLog, sealEntry, startCheckpointer, type AuditEntry } from '../../../src/audit';
import { appendCheckpoint } from '../../../src/audit/checkpoints';
import { createLogger } from '../../../src/lib/logger';
import { tempDir } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';

const quiet = createLogger({ level: 'silent' });
const keys = AuditKeyring.parse(`k1:${randomBytes(32).toString('base64')}`);

/** How the chain was hashed before 8.4: SHA-256 of the canonical entry, which anyone can recompute. */
function sha256Reseal(e: Omit<AuditEntry, 'hash'>): AuditEntry {
  const { seq, at, actor, action, target, details, prevHash } = e;
  return { ...e, hash: createHash('sha256').update(canonicalJson({ seq, at, actor, action, target, details, prevHash })).digest('hex') };
}

describe('audit tamper evidence against a Redis writer', () => {
  let redis: Redis;
  let prefix: string;
  let log: RedisAuditLog;
  let dir: string;

  beforeEach(async () => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('tamper');
    log = new RedisAuditLog(redis, prefix, { keys });
    dir = tempDir('checkpoints');
    for (let i = 1; i <= 6; i++) await log.append({ actor: 'alice', action: 'request.approved', target: `request/${i}`, details: { team: 'payments', i } });
    // A worker's checkpoint at seq 6, then two more entries after it.
    const cp = startCheckpointer(redis, log, { everyMs: 3_600_000, dir, logger: quiet });
    expect(await cp.tick()).toMatchObject({ seq: 6 });
    await cp.stop();
    for (let i = 7; i <= 8; i++) await log.append({ actor: 'bob', action: 'request.created', target: `request/${i}`, details: { team: 'payments' } });
  });
  afterEach(async () => {
    const k = await redis.keys(`${prefix}:*`);
    if (k.length) await redis.del(...k);
    redis.disconnect();
  });

  const stream = () => `${prefix}:audit`;
  const head = () => `${prefix}:audit:head`;
  const entries = async (): Promise<AuditEntry[]> => (await redis.xrange(stream(), '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('entry') + 1]) as AuditEntry);

  /**
   * Rewrites the stream from `list`: entries before index `from` kept as they are (still
   * authentic), the rest renumbered and re-hashed with `reseal`, and the head moved.
   */
  async function rewrite(list: AuditEntry[], from: number, reseal: (e: Omit<AuditEntry, 'hash'>) => AuditEntry): Promise<void> {
    await redis.del(stream(), head());
    let prev = '0'.repeat(64);
    for (const [i, e] of list.entries()) {
      const { hash: _old, ...rest } = e;
      const next = i < from ? e : reseal({ ...rest, seq: i + 1, prevHash: prev });
      await redis.xadd(stream(), `${next.seq}-1`, 'entry', JSON.stringify(next));
      await redis.hset(head(), 'seq', String(next.seq), 'hash', next.hash);
      prev = next.hash;
    }
  }

  /**
   * The verification before 8.4 (SHA-256 chain, seq without gaps, head), applied to the
   * rewritten log: every rewrite below passed it. Entries the attacker left untouched count as
   * they were; the rest must be consistent SHA-256, which anyone can compute.
   */
  async function verifiedTheOldWay(): Promise<boolean> {
    const list = await entries();
    let prev = '0'.repeat(64);
    for (const [i, e] of list.entries()) {
      const hashOk = authenticBefore(e) || sha256Reseal(e).hash === e.hash;
      if (e.seq !== i + 1 || e.prevHash !== prev || !hashOk) return false;
      prev = e.hash;
    }
    const [seq, hash] = await redis.hmget(head(), 'seq', 'hash');
    return Number(seq ?? 0) === list.length && (hash ?? '0'.repeat(64)) === prev;
  }
  let original: AuditEntry[] = [];
  const authenticBefore = (e: AuditEntry): boolean => original.some((o) => o.hash === e.hash);

  it('starts intact, with the checkpoint matched', async () => {
    const checkpoints = await readCheckpoints(dir, prefix);
    expect(checkpoints).toHaveLength(1);
    expect(await log.verify(checkpoints)).toMatchObject({ ok: true, count: 8, checkpoints: { matched: 1 } });
  });

  it('detects an entry edited with the chain and head recomputed (SHA-256 as before, or a key of the attacker)', async () => {
    const list = (original = await entries()).slice();
    list[2] = { ...list[2], actor: 'mallory', details: { team: 'payments', i: 999 } };
    await rewrite(list, 2, sha256Reseal);
    expect(await verifiedTheOldWay()).toBe(true);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 3, reason: expect.stringContaining('MAC') });

    const mallory = AuditKeyring.parse(`k1:${randomBytes(32).toString('base64')}`);
    await rewrite(list, 2, (e) => sealEntry(mallory, e));
    expect(await log.verify(await readCheckpoints(dir, prefix))).toMatchObject({ ok: false, seq: 3 });
  });

  it('detects an entry deleted with the rest renumbered and the head moved', async () => {
    const list = (original = await entries()).slice();
    list.splice(3, 1);
    await rewrite(list, 3, sha256Reseal);
    expect(await verifiedTheOldWay()).toBe(true);
    expect(await log.verify()).toMatchObject({ ok: false, seq: 4, reason: expect.stringContaining('MAC') });
  });

  it('detects the tail cut off with the head moved back onto an authentic entry (checkpoints)', async () => {
    const list = await entries();
    for (const seq of [5, 6, 7, 8]) await redis.xdel(stream(), `${seq}-1`);
    await redis.hset(head(), 'seq', '4', 'hash', list[3].hash);
    // The chain alone cannot tell: what is left is authentic and whole.
    original = list;
    expect(await verifiedTheOldWay()).toBe(true);
    expect(await log.verify()).toMatchObject({ ok: true, count: 4 });
    expect(await log.verify(await readCheckpoints(dir, prefix))).toMatchObject({ ok: false, seq: 6, reason: expect.stringContaining('log ends at seq 4') });
  });

  it('detects the stream deleted together with its head (checkpoints)', async () => {
    await redis.del(stream(), head());
    expect(await verifiedTheOldWay()).toBe(true);
    expect(await log.verify()).toMatchObject({ ok: true, count: 0 });
    expect(await log.verify(await readCheckpoints(dir, prefix))).toMatchObject({ ok: false, seq: 6, reason: expect.stringContaining('log ends at seq 0') });
  });

  it('refuses a checkpoint edited in the folder, and ignores checkpoints of another prefix', async () => {
    const [found] = await readCheckpoints(dir, prefix);
    await appendCheckpoint(dir, { ...found.checkpoint, seq: 2 });
    expect(await log.verify(await readCheckpoints(dir, prefix))).toMatchObject({ ok: false, reason: expect.stringContaining('not signed') });
    const other = await readCheckpoints(dir, `${prefix}-other`);
    expect(other).toEqual([]);
  });

  it('the checkpointer raises audit.tamper_detected when the log it checkpointed is deleted', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (l: string) => { lines.push(l); } } });
    const cp = startCheckpointer(redis, log, { everyMs: 3_600_000, logger });
    await redis.del(`${prefix}:audit:checkpoint:lock`); // held by the worker of beforeEach
    expect(await cp.tick()).toMatchObject({ seq: 8 });
    await redis.del(stream(), head(), `${prefix}:audit:checkpoint:lock`);
    expect(await cp.tick()).toBeNull();
    await cp.stop();
    const alert = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['event.action'] === 'audit.tamper_detected');
    expect(alert).toMatchObject({ reason: expect.stringContaining('moved back from seq 8 to 0') });
  });

  it('the checkpointer refuses to vouch for a head that is not authentic', async () => {
    const list = await entries();
    list[7] = { ...list[7], actor: 'mallory' };
    await rewrite(list, 7, sha256Reseal);
    const cp = startCheckpointer(redis, log, { everyMs: 3_600_000, dir: tempDir('cp2'), logger: quiet });
    expect(await cp.tick()).toBeNull();
    await cp.stop();
  });
});
