/**
 * Scheduled rescans (issue 13.2) on the real service (redis, docker-registry, nginx):
 * - Harbor: approved digests are rescanned through the Harbor adapter against the Harbor
 *   stand-in (from the pluggable-scanner spec, behaving as the real Trivy adapter does), each
 *   in the run whose window holds its slot: spread over the period, once per period, a digest
 *   revoked meanwhile skipped, at most `maxPerRun` a run; new data at the adapter shows up as
 *   stored findings and `findings.updated`.
 * - builtin: digests approved before inventories were kept are rescanned once through the
 *   registry, which keeps their inventory, so that the re-match then sees every one of them.
 * The job's clock is the test's: each run is one tick of the period, no waiting.
 */
import { createLogger } from '../../../src/lib/logger';
import { HarborScanner, harborScannerConfigSchema } from '../../../src/scanners/harbor';
import { RedisRequestStore, RedisScanResultStore } from '../../../src/store';
import type { DomainEvent } from '../../../src/intake/events';
import type { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { buildRescans } from '../../../src/monitor/rescan-wiring';
import { RESCAN_JOB } from '../../../queue/rescan';
import { rescanTickMs, slotOf, type RescanService, type ScannerRun } from '../../../src/monitor/rescan';
import { startTestApp, type TestApp } from '../../harness/app';
import { pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';
import { FIXTURE_ADVISORIES, type FixtureAdvisory } from '../scanners/standins/content';
import { debianImage } from '../scanners/standins/fixtures';
import { startHarborStandin, type HarborStandin } from '../scanners/standins/harbor';
import { approveImage, movableClock, osvFolders, scanner as builtinScanner } from './fixtures';

const svc = services();
const HOUR = 3600_000;
const logger = createLogger({ level: 'silent' });

/** Approves `n` distinct images (a unique file each) for payments; their digests. */
async function approveMany(app: TestApp, n: number, label: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const img = await debianImage('amd64', { 'etc/which': `${label}-${i}-${uniqueName()}` });
    const repo = uniqueName(label);
    await pushImage(svc.upstream.url, repo, '1', img);
    out.push((await approveImage(app, `${svc.upstream.host}/${repo}:1`)).digest);
  }
  return out;
}

/** The app's own rescan job is stopped: the test's service runs on the test's clock. */
async function quietJob(app: TestApp): Promise<void> {
  await app.services.monitorQueue.queue.removeJobScheduler(RESCAN_JOB);
  const keys = await app.redis.keys(`${app.config.redis.prefix}:rescan:last:*`);
  if (keys.length) await app.redis.del(...keys);
}

function service(app: TestApp, scanners: Parameters<typeof buildRescans>[2]['scanners'], now: () => Date, maxPerRun?: number): RescanService {
  const config = { ...app.config, monitor: { ...app.config.monitor, rescanEvery: HOUR } };
  const s = app.services;
  return buildRescans(config, logger, {
    redis: app.redis, events: s.events, approvals: s.approvals, requests: new RedisRequestStore(app.redis, app.config.redis.prefix), results: new RedisScanResultStore(app.redis, app.config.redis.prefix),
    inventories: s.inventory.inventories, internal: s.registry.internal, internalUrl: s.registry.internalUrl, scanners, enqueue: async () => undefined, now,
    ...(maxPerRun ? { maxPerRun } : {}),
  }).rescan;
}

describe('Harbor rescans spread over monitor.rescanEvery', () => {
  let harbor: HarborStandin;
  let adapter: HarborScanner;
  let app: TestApp;
  const fixtures: FixtureAdvisory[] = [];
  const events: DomainEvent[] = [];
  let digests: string[];

  beforeAll(async () => {
    harbor = await startHarborStandin({ fixtures });
    const entry = { name: 'harbor', type: 'harbor', url: harbor.url, pollIntervalMs: 50 };
    adapter = new HarborScanner(harborScannerConfigSchema.parse(entry), { registryAuthorization: async () => undefined, logger });
    app = await startTestApp({ scanners: [adapter], config: { scanners: [entry] } });
    digests = await approveMany(app, 6, 'harbor-rescan');
    await quietJob(app);
    app.services.events.subscribe((e) => { if (e.type === 'findings.updated') events.push(e); });
    // New data at the adapter: its next scans find the critical openssl advisory.
    fixtures.push(FIXTURE_ADVISORIES[0]!);
  });

  afterAll(async () => {
    await app?.stop();
    await harbor?.close();
  });

  it('rescans each approved digest once per period in the run holding its slot; a digest revoked meanwhile is skipped', async () => {
    const tick = rescanTickMs(HOUR);
    const start = Math.ceil(Date.now() / HOUR) * HOUR;
    const clock = movableClock(start);
    const rescan = service(app, [adapter], clock.now);
    // The digest whose slot comes last in the period is revoked after the first run.
    const bySlot = [...digests].sort((a, b) => slotOf('harbor', a, HOUR) - slotOf('harbor', b, HOUR));
    const revoked = bySlot.at(-1)!;
    const runs: ScannerRun[] = [];
    for (let i = 0; i < 2 * (HOUR / tick); i++) {
      clock.advance(tick);
      const [run] = await rescan.run();
      runs.push(run!);
      if (i === 0) {
        const res = await app.call('admin', 'POST', '/v1/approvals/revoke', { digest: revoked, team: 'payments', reason: 'rescan test' });
        expect(res.status).toBe(200);
      }
    }
    const kept = digests.filter((d) => d !== revoked);
    // Each digest in the run whose window (previous run, this run] holds its slot, in both periods.
    const expected = (d: string, period: number) => Math.floor((period * HOUR + ((slotOf('harbor', d, HOUR) - start % HOUR + HOUR) % HOUR) - 1) / tick);
    for (const d of kept) {
      const at = runs.flatMap((r, i) => (r.rescanned.includes(d) ? [i] : []));
      expect([d, at]).toEqual([d, [expected(d, 0), expected(d, 1)]]);
    }
    expect(runs.some((r) => r.rescanned.includes(revoked))).toBe(false);
    // Spread: the five digests were rescanned in more than one run, never many at once.
    expect(new Set(kept.map((d) => expected(d, 0))).size).toBeGreaterThan(1);
    expect(Math.max(...runs.map((r) => r.rescanned.length))).toBeLessThan(kept.length);

    // The new data: stored and announced once per digest (the second period found the same).
    const results = new RedisScanResultStore(app.redis, app.config.redis.prefix);
    for (const d of kept) expect((await results.get('harbor', d))?.findings.map((f) => f.id)).toContain('CVE-2099-0001');
    expect(events.map((e) => e.details.digest).sort()).toEqual([...kept].sort());
    expect(harbor.events.filter((e) => e.startsWith('scan ')).length).toBe(digests.length + 2 * kept.length);
  });

  it('rescans at most maxPerRun digests a run; the rest wait for the next runs', async () => {
    const keys = await app.redis.keys(`${app.config.redis.prefix}:rescan:last:*`);
    if (keys.length) await app.redis.del(...keys);
    const clock = movableClock(Date.now() + 10 * HOUR);
    const rescan = service(app, [adapter], clock.now, 2);
    // A first run after a long stop covers one whole period: all five are due, two a run.
    await app.redis.set(`${app.config.redis.prefix}:rescan:last:harbor`, String(clock.now().getTime() - 5 * HOUR));
    const counts: number[] = [];
    const deferred: number[] = [];
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      const [run] = await rescan.run();
      counts.push(run!.rescanned.length);
      deferred.push(run!.deferred);
    }
    expect(counts).toEqual([2, 2, 1, 0]);
    expect(deferred).toEqual([3, 1, 0, 0]);
  });
});

describe('builtin digests approved before inventories were kept', () => {
  let app: TestApp;
  let builtin: BuiltinScanner;

  afterAll(async () => { await app?.stop(); });

  it('are rescanned once through the registry, so that after one period the re-match sees every approved digest', async () => {
    builtin = await builtinScanner(osvFolders().clean);
    app = await startTestApp({ scanners: [builtin] });
    const digests = await approveMany(app, 3, 'builtin-rescan');
    await quietJob(app);
    const inventories = app.services.inventory.inventories;
    // Two were "approved before the builtin scanner kept SBOMs": no inventory.
    const bare = digests.slice(0, 2);
    for (const d of bare) await app.redis.del(inventories.key(builtin.name, d), inventories.matchKey(builtin.name, d));
    // New vulnerability data (the same advisories under a new version): the re-match cannot see the two without an inventory.
    const rematch = async () => {
      const { db } = await builtin.vulnerabilityData();
      return app.services.inventory.rematch.rematchAll({ name: builtin.name, vulnerabilityData: async () => ({ version: `new-data-${uniqueName()}`, db }) }, { full: true });
    };
    const before = await rematch();
    expect(before.missing.sort()).toEqual([...bare].sort());
    expect({ rematched: before.rematched, changed: before.changed }).toEqual({ rematched: 1, changed: 0 });

    const tick = rescanTickMs(HOUR);
    const clock = movableClock(Date.now());
    const rescan = service(app, [builtin], clock.now);
    const rescanned: string[] = [];
    const skipped: string[] = [];
    for (let i = 0; i < 2 * (HOUR / tick); i++) {
      clock.advance(tick);
      const [run] = await rescan.run();
      rescanned.push(...run!.rescanned);
      skipped.push(...run!.skipped);
    }
    // Once each, in the first period; the one with an inventory is never rescanned.
    expect(rescanned.sort()).toEqual([...bare].sort());
    expect(skipped.filter((d) => d === digests[2]).length).toBe(2);
    for (const d of digests) expect(await inventories.get(builtin.name, d)).not.toBeNull();
    const after = await rematch();
    expect({ missing: after.missing, rematched: after.rematched, changed: after.changed }).toEqual({ missing: [], rematched: 3, changed: 0 });
  });
});
