/**
 * `npm run bench:audit`: audit appends through the outbox on a real redis-server. For 1, 8 and
 * 64 concurrent writers (each its own connection and RedisAuditLog), 20 appends each: appends
 * per second, median and p99 latency of one append, and a check that nothing was lost and the
 * chain verifies. Then 2000 records written straight to the outbox (as the ledger's Lua
 * scripts do) drained by 4 racing drainers: records chained per second. Not a test.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { AuditKeyring, RedisAuditLog } from '../src/audit';
import { startRedis } from '../test/harness/redis';

const PER_WRITER = 20;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function main(): Promise<void> {
  const redisSvc = await startRedis();
  const keys = AuditKeyring.parse(`bench:${randomBytes(32).toString('base64')}`);
  try {
    for (const writers of [1, 8, 64]) {
      const prefix = `bench-${writers}`;
      const conns = Array.from({ length: writers }, () => new Redis(redisSvc.url));
      const logs = conns.map((c) => new RedisAuditLog(c, prefix, { keys, timeoutMs: 120000 }));
      await Promise.all(conns.map((c) => c.ping())); // connections up before the clock starts
      const latencies: number[] = [];
      const t0 = process.hrtime.bigint();
      await Promise.all(logs.map(async (log, w) => {
        for (let i = 0; i < PER_WRITER; i++) {
          const s = process.hrtime.bigint();
          await log.append({ actor: `w${w}`, action: 'bench.append', target: `t/${w}/${i}`, details: { team: 'payments', i } });
          latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
        }
      }));
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const result = await logs[0].verify();
      latencies.sort((a, b) => a - b);
      const total = writers * PER_WRITER;
      console.log(`${writers} writers × ${PER_WRITER}: ${(total / secs).toFixed(0)} appends/s, append median ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms; chain ${result.ok ? `intact, ${result.count}/${total} entries` : `BROKEN: ${result.reason}`}`);
      for (const c of conns) c.disconnect();
    }
    const admin = new Redis(redisSvc.url);
    const prefix = 'bench-drain';
    for (let i = 0; i < 2000; i++) await admin.xadd(`${prefix}:audit:outbox`, '*', 'record', JSON.stringify({ actor: 'ledger', action: 'request.approved', target: `request/${i}`, details: { team: 'payments' }, at: new Date().toISOString() }));
    const conns = Array.from({ length: 4 }, () => new Redis(redisSvc.url));
    const t0 = process.hrtime.bigint();
    const counts = await Promise.all(conns.map((c) => new RedisAuditLog(c, prefix, { keys, timeoutMs: 120000 }).drain()));
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const result = await new RedisAuditLog(admin, prefix, { keys }).verify();
    console.log(`drain of 2000 outbox records by 4 drainers: ${(2000 / secs).toFixed(0)} records/s (chained ${counts.join('+')}); chain ${result.ok ? `intact, ${result.count}` : 'BROKEN'}`);
    for (const c of [...conns, admin]) c.disconnect();
  } finally {
    await redisSvc.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
