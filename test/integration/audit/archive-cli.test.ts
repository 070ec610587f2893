/**
 * `portcullis audit verify|archive` on the real Redis, run in-process: the archive exports a
 * verified segment, trims it and keeps a signed anchor so that verify still proves the rest;
 * the archive file proves itself; checkpoints are matched across archive and Redis; exit
 * codes tell a broken chain (1) from usage (2) and an unreachable Redis (3).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import YAML from 'yaml';
import { archiveBefore, RedisAuditLog, startCheckpointer } from '../../../src/audit';
import { run } from '../../../src/cli/audit';
import { createLogger } from '../../../src/lib/logger';
import { capture } from '../../harness/capture';
import { freePort, tempDir } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';

const quiet = createLogger({ level: 'silent' });

function writeConfig(redisUrl: string, prefix: string): string {
  const file = path.join(tempDir('audit-cli'), 'config.yaml');
  writeFileSync(file, YAML.stringify({ redis: { url: redisUrl, prefix }, internalRegistry: { url: 'http://127.0.0.1:5000' }, scanners: [] }));
  return file;
}

describe('portcullis audit archive and verify', () => {
  let redis: Redis;
  let prefix: string;
  let log: RedisAuditLog;
  let dir: string;
  const savedConfig = process.env.PORTCULLIS_CONFIG;

  beforeEach(async () => {
    redis = new Redis(services().redis.url);
    prefix = uniqueName('archive');
    process.env.PORTCULLIS_CONFIG = writeConfig(services().redis.url, prefix);
    log = new RedisAuditLog(redis, prefix);
    dir = tempDir('archive');
    const cp = startCheckpointer(redis, log, { everyMs: 3_600_000, dir, logger: quiet });
    // Five old entries (January), a checkpoint at seq 3, three recent ones, a checkpoint at seq 8.
    for (let i = 1; i <= 5; i++) {
      await log.append({ actor: 'alice', action: 'request.created', target: `request/${i}`, details: { team: 'payments' }, at: `2026-01-0${i}T10:00:00Z` });
      if (i === 3) expect(await cp.tick()).toMatchObject({ seq: 3 });
    }
    for (let i = 6; i <= 8; i++) await log.append({ actor: 'bob', action: 'request.created', target: `request/${i}`, details: { team: 'logistics' } });
    await redis.del(`${prefix}:audit:checkpoint:lock`);
    expect(await cp.tick()).toMatchObject({ seq: 8 });
    await cp.stop();
  });
  afterEach(async () => {
    process.env.PORTCULLIS_CONFIG = savedConfig;
    const k = await redis.keys(`${prefix}:*`);
    if (k.length) await redis.del(...k);
    redis.disconnect();
  });

  it('archives the old segment, trims it with an anchor, records the trim, and verify proves the rest and the file', async () => {
    const file = path.join(dir, 'audit-2026-01.jsonl');
    const archived = await capture(() => run(['archive', '--to', file, '--before', '2026-02-01']));
    expect(archived.err).toBe('');
    expect(archived.code).toBe(0);
    expect(archived.out).toContain('archived 5 entries (seq 1..5)');
    expect(await redis.xlen(`${prefix}:audit`)).toBe(4); // 6, 7, 8 and audit.archived
    const tail = await log.list(0, 10);
    expect(tail.map((e) => e.seq)).toEqual([6, 7, 8, 9]);
    expect(tail[3]).toMatchObject({ action: 'audit.archived', details: { count: 5, to: { seq: 5 }, file: 'audit-2026-01.jsonl' } });

    const rest = await capture(() => run(['verify', '--checkpoints', dir]));
    expect(rest.code).toBe(0);
    expect(rest.out).toContain('from seq 5');
    expect(rest.out).toContain('1 checkpoints matched, 1 older than the trail checked');

    const whole = await capture(() => run(['verify', '--checkpoints', dir, '--archive', file]));
    expect(whole.out).toContain('9 entries from genesis');
    expect(whole.out).toContain('2 checkpoints matched');
    expect(whole.code).toBe(0);

    // Nothing older is left: a second archive with the same date has nothing to do.
    const again = await capture(() => run(['archive', '--to', path.join(dir, 'again.jsonl'), '--before', '2026-02-01']));
    expect(again).toMatchObject({ code: 0, out: expect.stringContaining('nothing to archive') });
  });

  it('two archives at once: exactly one trims, the other is refused (CONFLICT) or finds nothing left; appends racing them are kept', async () => {
    const writers = Array.from({ length: 8 }, () => new Redis(services().redis.url));
    try {
      const appends = Promise.all(writers.map(async (c, w) => {
        const l = new RedisAuditLog(c, prefix);
        for (let i = 0; i < 5; i++) await l.append({ actor: `w${w}`, action: 'request.created', target: `request/w${w}-${i}`, details: { team: 'payments' } });
      }));
      const results = await Promise.allSettled([1, 2].map((n) => archiveBefore(redis, log, { before: new Date('2026-02-01T00:00:00Z'), to: path.join(dir, `race-${n}.jsonl`), actor: 'test' })));
      await appends;
      const archived = results.filter((r) => r.status === 'fulfilled' && r.value.kind === 'archived');
      expect(archived).toHaveLength(1);
      // The other one either lost the trim (CONFLICT) or, had it started after the first ended, found nothing left.
      const other = results.find((r) => !archived.includes(r));
      if (other?.status === 'rejected') expect(other.reason).toMatchObject({ code: 'CONFLICT' });
      else expect(other).toMatchObject({ status: 'fulfilled', value: { kind: 'nothing' } });
    } finally {
      for (const c of writers) c.disconnect();
    }
    // 8 before, 40 appended, one audit.archived; 5 of them archived.
    expect(await log.verify()).toMatchObject({ ok: true, count: 44, start: { seq: 5 }, head: { seq: 49 } });
  });

  it('detects an archive file altered, cut short, or not continued by the log in Redis', async () => {
    const file = path.join(dir, 'a.jsonl');
    expect((await capture(() => run(['archive', '--to', file, '--before', '2026-02-01']))).code).toBe(0);
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);

    const edited = path.join(dir, 'edited.jsonl');
    writeFileSync(edited, lines.map((l, i) => (i === 2 ? l.replace('"alice"', '"mallory"') : l)).join('\n'));
    expect(await capture(() => run(['verify', '--archive', edited]))).toMatchObject({ code: 1, out: expect.stringContaining('seq 2') });

    const cut = path.join(dir, 'cut.jsonl');
    writeFileSync(cut, lines.slice(0, -2).join('\n'));
    expect(await capture(() => run(['verify', '--archive', cut]))).toMatchObject({ code: 1, out: expect.stringContaining('without its signed trailer') });

    const withoutFirst = path.join(dir, 'gap.jsonl');
    writeFileSync(withoutFirst, [lines[0], ...lines.slice(2)].join('\n'));
    expect(await capture(() => run(['verify', '--archive', withoutFirst]))).toMatchObject({ code: 1 });
  });

  it('detects an anchor moved forward over entries deleted from Redis', async () => {
    expect((await capture(() => run(['archive', '--to', path.join(dir, 'a.jsonl'), '--before', '2026-02-01']))).code).toBe(0);
    const seven = (await log.list(6, 1))[0];
    await redis.xtrim(`${prefix}:audit`, 'MINID', '8-0');
    await redis.hset(`${prefix}:audit:anchor`, 'seq', '7', 'hash', seven.hash);
    const res = await capture(() => run(['verify']));
    expect(res.code).toBe(1);
    expect(res.out).toContain('anchor is not signed');
  });

  it('refuses to archive a broken log (exit 1, nothing trimmed) and never writes over a file (exit 4)', async () => {
    const existing = path.join(dir, 'exists.jsonl');
    writeFileSync(existing, 'keep me\n');
    const over = await capture(() => run(['archive', '--to', existing, '--before', '2026-02-01']));
    expect(over.code).toBe(4);
    expect(readFileSync(existing, 'utf8')).toBe('keep me\n');

    // Stream entries cannot be edited in place: rewrite the stream with entry 2 altered.
    const rows = await redis.xrange(`${prefix}:audit`, '-', '+');
    await redis.del(`${prefix}:audit`);
    for (const [id, fields] of rows) {
      const entry = JSON.parse(fields[1]) as Record<string, unknown>;
      await redis.xadd(`${prefix}:audit`, id, 'entry', JSON.stringify(id === '2-1' ? { ...entry, actor: 'mallory' } : entry));
    }
    const res = await capture(() => run(['archive', '--to', path.join(dir, 'b.jsonl'), '--before', '2026-02-01']));
    expect(res.code).toBe(1);
    expect(res.out).toContain('nothing archived');
    expect(await redis.xlen(`${prefix}:audit`)).toBe(8);
    expect(await redis.exists(`${prefix}:audit:anchor`)).toBe(0);
  });

  it('exit codes: 2 for usage and a missing key, 3 when Redis cannot be reached', async () => {
    expect((await capture(() => run(['archive', '--to', path.join(dir, 'x.jsonl')]))).code).toBe(2);
    expect((await capture(() => run(['archive', '--to', path.join(dir, 'x.jsonl'), '--before', '2026-02-30']))).code).toBe(2);
    expect((await capture(() => run(['verify', '--bogus']))).code).toBe(2);
    expect((await capture(() => run(['export', '--after', '-1']))).code).toBe(2);
    expect((await capture(() => run(['verify', '--to', 'x']))).code).toBe(2);
    expect((await capture(() => run([]))).code).toBe(2);

    const key = process.env.PORTCULLIS_AUDIT_KEY;
    delete process.env.PORTCULLIS_AUDIT_KEY;
    try {
      const noKey = await capture(() => run(['verify']));
      expect(noKey.code).toBe(2);
      expect(noKey.err).toContain('PORTCULLIS_AUDIT_KEY is not set');
    } finally {
      process.env.PORTCULLIS_AUDIT_KEY = key;
    }

    process.env.PORTCULLIS_CONFIG = writeConfig(`redis://:hunter2@127.0.0.1:${await freePort()}`, prefix);
    // Usage is checked before connecting: still 2 with Redis down.
    expect((await capture(() => run(['archive', '--to', path.join(dir, 'x.jsonl')]))).code).toBe(2);
    const down = await capture(() => run(['verify']));
    expect(down.code).toBe(3);
    expect(down.err).toContain('cannot reach Redis at redis://:[REDACTED]@127.0.0.1');
    expect(down.err).not.toContain('hunter2');
  });
});
