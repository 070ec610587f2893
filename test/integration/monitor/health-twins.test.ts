/**
 * At-risk events and twin findings, on the real Redis stores: a blocking finding reported under
 * another lead id (GO-… and its GHSA-… twin merged, or the lead flipping between them) is the
 * same risk, so it sends no second `approval.at_risk`; a genuinely new blocking finding still does.
 */
import type { RedisAuditLog } from '../../../src/audit';
import type { DomainEvent } from '../../../src/intake/events';
import type { HealthService } from '../../../src/monitor/health';
import type { Finding } from '../../../src/scanners/types';
import type { Approval } from '../../../src/store';
import { healthWorld, scanReport as report, type HealthWorld } from './health-world';

const GO = 'GO-2022-1059';
const GHSA = 'GHSA-69ch-w2m2-3vjp';
const CVE = 'CVE-2022-32149';
const vuln = (id: string, aliases: string[], pkg = 'golang.org/x/text', installed = 'v0.3.7'): Finding => ({
  id, aliases, kind: 'vulnerability', package: pkg, ecosystem: 'Go', installedVersion: installed, fixedVersion: 'v0.3.8', severity: 'high', title: id, links: [],
});

describe('at-risk events of twin findings on real Redis', () => {
  let world: HealthWorld;
  let clock: HealthWorld['clock'];
  let events: DomainEvent[];
  let audit: RedisAuditLog;
  let health: HealthService;
  let stores: HealthWorld['stores'];

  beforeEach(() => {
    world = healthWorld('twins', { registry: 'registry.example', repository: 'platform/gateway', tag: '1.0' });
    ({ clock, events, audit, health, stores } = world);
  });
  afterEach(() => world.close());

  const approved = (digest: string): Promise<Approval> => world.approved({ team: 'payments', digest });

  let step = 0;
  /** A re-match storing `findings` as the digest's current report, then the evaluation it triggers. */
  async function rematch(a: Approval, findings: Finding[]): Promise<void> {
    step += 1;
    await stores.scans.put(a.digest, report(findings, new Date(clock.now().getTime() + step * 1000)));
    await health.evaluate(a);
  }
  const atRisk = () => events.filter((e) => e.type === 'approval.at_risk');

  it('sends no second at_risk when twins merge or the lead id flips, and one when a new blocking finding appears', async () => {
    const a = await approved(`sha256:${'c'.repeat(64)}`);
    await health.evaluate(a);
    // Before twins were merged: the Go record and its GitHub twin, two findings of one risk.
    await rematch(a, [vuln(GO, [GHSA, CVE]), vuln(GHSA, [CVE])]);
    expect(atRisk()).toHaveLength(1);
    // The first re-match after the merge: one finding led by the Go id.
    await rematch(a, [vuln(GO, [GHSA, CVE])]);
    // The lead flips to the GitHub id (the Go record withdrawn, or a different load).
    await rematch(a, [vuln(GHSA, [GO, CVE])]);
    // And back.
    await rematch(a, [vuln(GO, [GHSA, CVE])]);
    expect(atRisk()).toHaveLength(1);
    expect((await audit.list(0, 100)).filter((e) => e.action === 'approval.at_risk')).toHaveLength(1);
    expect((await health.of([a]))[0]).toMatchObject({ state: 'at_risk', blocking: [expect.objectContaining({ id: GO, aliases: [GHSA, CVE] })] });

    // A genuinely new blocking finding (another module) is news.
    await rematch(a, [vuln(GO, [GHSA, CVE]), vuln('GO-2023-1571', ['CVE-2022-41723'], 'golang.org/x/net', 'v0.5.0')]);
    expect(atRisk()).toHaveLength(2);
    expect(atRisk()[1]!.details).toMatchObject({ cves: expect.arrayContaining(['GO-2023-1571', GO]) });
    // So is a finding that shares only a CVE with a known one (another advisory, maybe another fix).
    await rematch(a, [vuln(GO, [GHSA, CVE]), vuln('GO-2023-1571', ['CVE-2022-41723'], 'golang.org/x/net', 'v0.5.0'), vuln('PYSEC-LIKE-1', [CVE])]);
    expect(atRisk()).toHaveLength(3);
    expect((await audit.list(0, 100)).filter((e) => e.action === 'approval.at_risk')).toHaveLength(3);
  });
});
