/**
 * The intake side of policy: the verdict from scans, code scans and waivers (expiry counts),
 * waivers granted under four-eyes, approval refused while the verdict fails, and scan reuse.
 */
import { DecisionService, EventBus, ScanRunner, WaiverService, policyEvaluator, type DomainEvent } from '../../../src/intake';
import { policyConfigSchema } from '../../../src/policy';
import { createLogger } from '../../../src/lib/logger';
import type { Principal } from '../../../src/lib/identity/types';
import type { ScannerAdapter, ScanReport } from '../../../src/scanners/types';
import { awaiting, codeScan, finding, MemoryRequestStore, MemoryScanResults, report } from './fakes';

const config = policyConfigSchema.parse({});
const bob: Principal = { name: 'bob', roles: ['approver'], teams: ['payments'] };
const alice: Principal = { name: 'alice', roles: ['developer', 'approver'], teams: ['payments'] };
const waiver = (findingId: string, expires: string) => ({ findingId, reason: 'accepted', expires, by: 'bob', at: '2025-01-01T00:00:00.000Z' });

describe('policy verdict of a request', () => {
  const evaluate = policyEvaluator(config, () => new Date('2025-06-01T00:00:00Z'));

  it('fails on a critical fixable finding and names it as blocking', () => {
    const r = awaiting();
    expect(evaluate({ request: r, reports: r.scans })).toMatchObject({ verdict: 'fail', blocking: ['CVE-2024-0001'] });
  });

  it('passes once a waiver (by id or alias) covers it, and fails again once that waiver expired', () => {
    const byAlias = awaiting({ waivers: [waiver('GHSA-aaaa-bbbb-cccc', '2025-07-01')] });
    expect(evaluate({ request: byAlias, reports: byAlias.scans })).toEqual({ verdict: 'pass', reasons: [], blocking: [] });
    const expired = awaiting({ waivers: [waiver('CVE-2024-0001', '2025-05-31T23:59:59Z')] });
    expect(evaluate({ request: expired, reports: expired.scans }).verdict).toBe('fail');
  });

  it('counts code-scan findings stored on the request, which waivers cover too', () => {
    const code = finding({ id: 'js/sql-injection', aliases: [], kind: 'code', fixedVersion: undefined, package: undefined });
    const r = awaiting({ scans: [report([])], codeScans: [codeScan([code])] });
    expect(evaluate({ request: r, reports: r.scans })).toMatchObject({ verdict: 'fail', blocking: ['js/sql-injection'] });
    const waived = { ...r, waivers: [waiver('js/sql-injection', '2026-01-01')] };
    expect(evaluate({ request: waived, reports: waived.scans }).verdict).toBe('pass');
  });

  it('fails closed on a failed scanner, with nothing a waiver could cover', () => {
    const r = awaiting({ scans: [report([], { status: 'failed', error: { code: 'SCAN_LIMIT_EXCEEDED', message: 'bomb' } })] });
    expect(evaluate({ request: r, reports: r.scans })).toEqual({ verdict: 'fail', reasons: ['scanner builtin failed: SCAN_LIMIT_EXCEEDED'], blocking: [] });
  });
});

describe('waivers and approval', () => {
  let now = new Date('2025-06-01T00:00:00Z');
  const clock = () => now;
  const setup = async () => {
    const requests = new MemoryRequestStore();
    await requests.create(awaiting());
    const events: DomainEvent[] = [];
    const bus = new EventBus();
    bus.subscribe((e) => { events.push(e); });
    const policy = policyEvaluator(config, clock);
    const scheduled: string[] = [];
    const waivers = new WaiverService({ requests, events: bus, policy, now: clock });
    const decisions = new DecisionService({
      requests, events: bus, policy, approvalsRequired: 1,
      scheduler: { schedule: async (step) => { scheduled.push(step); } },
      lifecycle: undefined as never, // approve() does not transition through the lifecycle
    });
    return { requests, events, waivers, decisions, scheduled };
  };

  beforeEach(() => { now = new Date('2025-06-01T00:00:00Z'); });

  it('refuses the requester (FOUR_EYES) and waivers for findings the request does not have', async () => {
    const { waivers } = await setup();
    await expect(waivers.grant(alice, 'r1', { findingId: 'CVE-2024-0001', reason: 'x', expires: '2025-07-01' })).rejects.toMatchObject({ code: 'FOUR_EYES' });
    await expect(waivers.grant(bob, 'r1', { findingId: 'CVE-1999-0001', reason: 'x', expires: '2025-07-01' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(waivers.grant(bob, 'r1', { findingId: 'CVE-2024-0001', reason: 'x', expires: '2025-05-01' })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('re-evaluates at approval: a waiver that expired since it was granted blocks again, and the fresh verdict is saved', async () => {
    const { requests, events, waivers, decisions, scheduled } = await setup();
    const granted = await waivers.grant(bob, 'r1', { findingId: 'CVE-2024-0001', reason: 'not reachable', expires: '2025-06-02' });
    expect(granted.policy?.verdict).toBe('pass');
    expect(events.map((e) => e.type)).toEqual(['request.waiver_granted']);
    expect(events[0].details).toMatchObject({ findingId: 'CVE-2024-0001', verdict: 'pass', team: 'payments' });

    now = new Date('2025-06-03T00:00:00Z');
    await expect(decisions.approve(bob, 'r1', 'ok')).rejects.toMatchObject({ code: 'WAIVERS_REQUIRED', details: { blocking: ['CVE-2024-0001'] } });
    expect((await requests.get('r1'))?.policy?.verdict).toBe('fail');
    expect(scheduled).toEqual([]);

    await waivers.grant(bob, 'r1', { findingId: 'CVE-2024-0001', reason: 'still not reachable', expires: '2025-07-01' });
    expect((await requests.get('r1'))?.waivers).toHaveLength(1);
    const { promoting } = await decisions.approve(bob, 'r1', 'ok');
    expect(promoting).toBe(true);
    expect(scheduled).toEqual(['promote']);
  });
});

describe('scan reuse', () => {
  class FakeScanner implements ScannerAdapter {
    readonly type = 'builtin' as const;
    readonly name = 'builtin';
    version = 'v1';
    scans = 0;
    status: ScanReport['status'] = 'succeeded';
    async check(): Promise<void> { /* always ready */ }
    async dbVersion(): Promise<string> { return this.version; }
    async scan(): Promise<ScanReport> {
      this.scans += 1;
      return report([finding()], { status: this.status, startedAt: `scan-${this.scans}`, dbVersion: this.version });
    }
  }
  const target = { registry: undefined as never, repository: 'quarantine/x', digest: `sha256:${'b'.repeat(64)}`, registryUrl: 'http://r' };

  it('reuses a stored report while dbVersion is unchanged, and scans again when it changes', async () => {
    const scanner = new FakeScanner();
    const runner = new ScanRunner([scanner], new MemoryScanResults(), createLogger({ level: 'silent' }));
    expect((await runner.run(target)).reused).toEqual([]);
    const again = await runner.run(target);
    expect(again.reused).toEqual(['builtin']);
    expect(again.reports[0].startedAt).toBe('scan-1');
    scanner.version = 'v2';
    const fresh = await runner.run(target);
    expect(fresh.reused).toEqual([]);
    expect(fresh.reports[0]).toMatchObject({ startedAt: 'scan-2', dbVersion: 'v2' });
    expect(scanner.scans).toBe(2);
  });

  it('never reuses a failed scan', async () => {
    const scanner = new FakeScanner();
    scanner.status = 'failed';
    const runner = new ScanRunner([scanner], new MemoryScanResults(), createLogger({ level: 'silent' }));
    await runner.run(target);
    expect((await runner.run(target)).reused).toEqual([]);
    expect(scanner.scans).toBe(2);
  });
});
