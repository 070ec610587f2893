/**
 * The replica's periodic resync on real Redis: every ledger write moves the ledger's version; a
 * resync that finds it unchanged confirms the view without reading the ledger, one that finds it
 * moved loads in full; and while approvals and revocations land concurrently with loads, the set
 * serving reviews is never a half-built one and ends equal to the ledger.
 */
import Redis from 'ioredis';
import { ApprovedSet, ledgerAnnouncer, ledgerChannel, LedgerSync, RedisExceptionStore, type LedgerSource } from '../../../src/admission';
import { FULL_RESYNC_EVERY } from '../../../src/admission/sync';
import { createLogger } from '../../../src/lib/logger';
import { ledgerVersionKey, RedisApprovalStore, RedisLedgerSnapshot, RedisRevocationStore, type Approval } from '../../../src/store';
import { services, uniqueName } from '../../harness/services';

const logger = createLogger({ level: 'silent' });
const digest = (i: number): string => `sha256:${i.toString(16).padStart(64, '0')}`;

function approval(team: string, i: number, approvedAt = new Date()): Approval {
  const image = `docker.io/acme/svc-${i}`;
  return {
    team, digest: digest(i), image, tags: ['1.0'], platforms: [], internalRef: `registry.internal/approved/${team}/${image}@${digest(i)}`,
    internalRepository: `approved/${team}/${image}`, internalTag: '1.0', approvedAt: approvedAt.toISOString(), approvedBy: ['ann'], requestId: `r${i}`,
  };
}

/** The ledger as the webhook role reads it, counting snapshots. */
function source(redis: Redis, prefix: string): LedgerSource & { snapshots: number } {
  const ledger = new RedisLedgerSnapshot(redis, prefix);
  const s = {
    snapshots: 0,
    snapshot: async () => { s.snapshots += 1; return ledger.snapshot(); },
    version: () => ledger.version(),
  };
  return s;
}

describe('the replica resync', () => {
  let redis: Redis;
  let sub: Redis;
  beforeEach(() => {
    redis = new Redis(services().redis.url);
    sub = new Redis(services().redis.url);
  });
  afterEach(() => {
    redis.disconnect();
    sub.disconnect();
  });

  it('moves the ledger version with every write of approvals, tags, revocations and exceptions', async () => {
    const prefix = uniqueName('adm-version');
    const approvals = new RedisApprovalStore(redis, prefix);
    const revocations = new RedisRevocationStore(redis, prefix);
    const store = new RedisExceptionStore(redis, prefix);
    const versions: number[] = [];
    const read = async () => { versions.push(Number((await redis.get(ledgerVersionKey(prefix))) ?? 0)); };
    const a = approval('payments', 1);
    await read();
    await approvals.put(a); await read();
    await approvals.addTag({ team: a.team, image: a.image, platforms: [] }, '1.1', a.digest); await read();
    await approvals.remove(a.team, a.image, a.digest); await read();
    const rev = { team: 'payments', digest: a.digest, by: 'sec', at: new Date().toISOString(), reason: 'CVE' };
    await revocations.add(rev, []); await read();
    expect(await revocations.remove('payments', a.digest, undefined, () => [])).toMatchObject({ digest: a.digest }); await read();
    await approvals.put(a); await read();
    await revocations.revoke(rev, [a], [], { id: 'i1', at: rev.at, team: 'payments', digest: a.digest, by: 'sec', reason: 'CVE', requestIds: [], unpublish: [], event: { type: 'approval.revoked', actor: 'sec', target: a.digest, details: {} } }); await read();
    const e = { id: 'e'.repeat(16), team: 'payments', image: 'ghcr.io/acme/hotfix', tag: '1', reason: 'INC', expires: new Date(Date.now() + 3600_000).toISOString(), by: 'sec', at: new Date().toISOString() };
    await store.grant(e, []); await read();
    expect(await store.revoke(e, [])).toBe(true); await read();
    // Strictly increasing: each write moved it.
    expect(versions).toEqual([...versions].sort((x, y) => x - y));
    expect(new Set(versions).size).toBe(versions.length);
    // The writes themselves happened (the version rides in the same MULTI, not instead of them).
    expect(await revocations.find('payments', a.image, a.digest)).toMatchObject({ reason: 'CVE' });
    expect(await approvals.get(a.team, a.image, a.digest)).toBeNull();
  });

  it('loads the ledger once at start when its subscriber is still connecting, and again after a reconnection', async () => {
    const prefix = uniqueName('adm-start');
    await new RedisApprovalStore(redis, prefix).put(approval('payments', 1));
    const src = source(redis, prefix);
    const fresh = new Redis(services().redis.url);
    expect(fresh.status).not.toBe('ready');
    const sync = new LedgerSync(src, fresh, ledgerChannel(prefix), { resyncMs: 600_000, maxStalenessMs: 600_000, debounceMs: 60_000 }, logger);
    try {
      await sync.start();
      expect(src.snapshots).toBe(1);
      // A lost connection: what was announced meanwhile is read from the ledger once it is back.
      const back = new Promise((resolve) => fresh.once('ready', resolve));
      fresh.disconnect(true);
      await back;
      for (let i = 0; i < 100 && src.snapshots < 2; i += 1) await new Promise((r) => setTimeout(r, 10));
      expect(src.snapshots).toBe(2);
    } finally {
      sync.stop();
      fresh.disconnect();
    }
  });

  it('confirms an unchanged ledger without reading it, and loads in full once a write moved the version', async () => {
    const prefix = uniqueName('adm-resync');
    const approvals = new RedisApprovalStore(redis, prefix);
    await approvals.put(approval('payments', 1));
    let clock = 1_000_000;
    const src = source(redis, prefix);
    // Resyncs are driven by the test (resyncMs far away), with a clock of its own.
    const sync = new LedgerSync(src, sub, ledgerChannel(prefix), { resyncMs: 600_000, maxStalenessMs: 600_000, debounceMs: 60_000, now: () => clock }, logger);
    try {
      await sync.start();
      expect(src.snapshots).toBe(1);
      expect(sync.confirmedAt).toBe(1_000_000);
      for (let i = 1; i < FULL_RESYNC_EVERY - 1; i += 1) {
        clock += 30_000;
        expect(await sync.resync()).toBe(true);
        // Confirmed current as of this resync, with nothing read but the version.
        expect(sync.confirmedAt).toBe(clock);
      }
      expect(src.snapshots).toBe(1);
      // A write nobody announced (a lost message): the version moved, the next resync loads it.
      const added = approval('payments', 2);
      await approvals.put(added);
      clock += 30_000;
      expect(sync.set.lookup('payments', added.internalRef).kind).toBe('unknown');
      expect(await sync.resync()).toBe(true);
      expect(src.snapshots).toBe(2);
      expect(sync.set.lookup('payments', added.internalRef).kind).toBe('approved');
      // And every FULL_RESYNC_EVERY-th resync loads whatever the version says.
      expect(await sync.resync()).toBe(true);
      expect(src.snapshots).toBe(3);
    } finally {
      sync.stop();
    }
  });

  it('serves only whole sets while approvals and revocations land during loads, and ends equal to the ledger', async () => {
    const prefix = uniqueName('adm-churn');
    const approvals = new RedisApprovalStore(redis, prefix);
    const revocations = new RedisRevocationStore(redis, prefix);
    const announce = ledgerAnnouncer(redis, ledgerChannel(prefix));
    const teams = ['payments', 'logistics', 'risk', 'cards'];
    // Enough approvals that a load is built over several turns of the event loop.
    const stable = Array.from({ length: 2400 }, (_, i) => approval(teams[i % teams.length], i, new Date(Date.now() - 86_400_000 + i)));
    for (let i = 0; i < stable.length; i += 200) await Promise.all(stable.slice(i, i + 200).map((a) => approvals.put(a)));
    const sync = new LedgerSync(source(redis, prefix), sub, ledgerChannel(prefix), { resyncMs: 600_000, maxStalenessMs: 600_000, debounceMs: 5 }, logger);
    const sample = stable.filter((_, i) => i % 97 === 0 || i === stable.length - 1);
    let turns = 0;
    const missing: string[] = [];
    let watching = true;
    // Every turn of the event loop, as a review would: the stable approvals are all there.
    const watch = (): void => {
      if (!watching) return;
      turns += 1;
      for (const a of sample) if (sync.set.lookup(a.team, a.internalRef).kind !== 'approved') missing.push(`${turns}: ${a.internalRef}`);
      setImmediate(watch);
    };
    try {
      await sync.start();
      watch();
      const revoked = new Set<string>();
      const churn = Array.from({ length: 120 }, (_, i) => approval(teams[i % teams.length], 100_000 + i));
      // Four writers at once, each approving its share and revoking every other one it approved,
      // announcing as the API does; meanwhile loads are asked for again and again.
      const writer = async (w: number): Promise<void> => {
        for (const a of churn.filter((_, i) => i % 4 === w)) {
          await approvals.put(a);
          await announce({ type: 'request.status_changed', actor: 'ann', details: { team: a.team, to: 'approved' } });
          if (Number.parseInt(a.digest.slice(-4), 16) % 2 === 0) {
            const rev = { team: a.team, digest: a.digest, by: 'sec', at: new Date().toISOString(), reason: 'CVE' };
            await revocations.revoke(rev, [a], [], { id: `i-${a.digest}`, at: rev.at, team: a.team, digest: a.digest, by: 'sec', reason: 'CVE', requestIds: [], unpublish: [], event: { type: 'approval.revoked', actor: 'sec', target: a.digest, details: {} } });
            await announce({ type: 'approval.revoked', actor: 'sec', details: { team: a.team, digest: a.digest, reason: 'CVE', at: rev.at } });
            revoked.add(a.digest);
          }
        }
      };
      let writing = true;
      const reloader = (async () => { while (writing) await sync.resync(); })();
      await Promise.all([0, 1, 2, 3].map(writer));
      writing = false;
      await reloader;
      const loadsDuringWrites = sync.loads;
      // Settled: one more resync sees the last version.
      expect(await sync.resync()).toBe(true);
      watching = false;
      expect(missing).toEqual([]);
      expect(loadsDuringWrites).toBeGreaterThan(2);
      expect(revoked.size).toBeGreaterThan(0);
      const ledger = await new RedisLedgerSnapshot(redis, prefix).snapshot();
      const expected = ApprovedSet.from(ledger.approvals, ledger.revoked);
      for (const a of [...stable, ...churn]) {
        const kind = sync.set.lookup(a.team, a.internalRef).kind;
        expect(`${a.internalRef} ${kind}`).toBe(`${a.internalRef} ${expected.lookup(a.team, a.internalRef).kind}`);
        expect(`${a.internalRef} ${kind}`).toBe(`${a.internalRef} ${revoked.has(a.digest) ? 'revoked' : 'approved'}`);
      }
    } finally {
      watching = false;
      sync.stop();
    }
  }, 60_000);
});
