/**
 * The built service and the audit key: nothing starts without PORTCULLIS_AUDIT_KEY (fail
 * closed) or with a weak one; a worker chains records left in the outbox by a writer that
 * never drained, and writes signed checkpoints to the log and to `audit.checkpointDir`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { readCheckpoints } from '../../../src/audit';
import { tempDir, waitFor } from '../../harness/proc';
import { services, uniqueName } from '../../harness/services';
import { logLines, startService as start } from './spawn-service';

describe('service start-up and the audit key', () => {
  const svc = services();
  const base = (prefix = uniqueName('auditstart')) => ({ redis: { url: svc.redis.url, prefix }, internalRegistry: { url: svc.internal.url }, scanners: [] });

  it('refuses to start without PORTCULLIS_AUDIT_KEY, in one line saying what to set', async () => {
    const p = start(base(), ['--role', 'worker'], { PORTCULLIS_AUDIT_KEY: '' });
    expect(await p.exited).toBe(1);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^PORTCULLIS_AUDIT_KEY is not set: .*fail closed/);
  });

  it('refuses a key shorter than 32 bytes without echoing it', async () => {
    const weak = Buffer.from('sixteen byte key').toString('base64');
    const p = start(base(), ['--role', 'worker'], { PORTCULLIS_AUDIT_KEY: `k1:${weak}` });
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain("key 'k1' is 16 bytes; at least 32");
    expect(p.stderr() + p.stdout()).not.toContain(weak);
  });

  it('a worker chains an orphaned outbox record and writes signed checkpoints out of Redis', async () => {
    const prefix = uniqueName('auditstart');
    const dir = path.join(tempDir('cp'), 'checkpoints');
    const redis = new Redis(svc.redis.url);
    try {
      await redis.xadd(`${prefix}:audit:outbox`, '*', 'record', JSON.stringify({ actor: 'ghost', action: 'request.approved', target: 'request/1', details: { team: 'payments' }, at: new Date().toISOString() }));
      const p = start({ ...base(prefix), audit: { drainIntervalMs: 100, checkpointEvery: '200ms', checkpointDir: dir } }, ['--role', 'worker']);
      try {
        await waitFor(async () => existsSync(dir) && readdirSync(dir).length > 0, 'a checkpoint file', 30000);
      } finally {
        p.child.kill('SIGTERM');
        expect(await p.exited).toBe(0);
      }
      expect(await redis.xlen(`${prefix}:audit`)).toBe(1);
      const found = await readCheckpoints(dir, prefix);
      expect(found[0].checkpoint).toMatchObject({ seq: 1, hash: (await redis.hget(`${prefix}:audit:head`, 'hash')) as string, keyId: 'test' });
      const logged = logLines(p).find((l) => l['event.action'] === 'audit.checkpoint');
      expect(logged?.['portcullis.audit.checkpoint']).toEqual(found[0].checkpoint);
      expect(readFileSync(path.join(dir, readdirSync(dir)[0]), 'utf8')).not.toContain(process.env.PORTCULLIS_AUDIT_KEY?.split(':')[1] ?? 'x');
    } finally {
      const k = await redis.keys(`${prefix}:*`);
      if (k.length) await redis.del(...k);
      redis.disconnect();
    }
  });
});
