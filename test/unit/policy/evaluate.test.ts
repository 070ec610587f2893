import { evaluate, policyConfigSchema, waiverRequestSchema, type PolicyConfigInput, type PolicyInput, type Waiver } from '../../../src/policy';
import type { Finding } from '../../../src/scanners/types';

const NOW = new Date('2025-06-01T12:00:00Z');
const FUTURE = '2025-12-31';
const PAST = '2025-05-31T00:00:00Z';

const vuln = (id: string, severity: Finding['severity'], fixedVersion?: string, aliases: string[] = []): Finding => ({
  id, aliases, kind: 'vulnerability', severity, title: `${id} title`, links: [], package: 'openssl', installedVersion: '3.0.0',
  ...(fixedVersion ? { fixedVersion } : {}),
});
const misconfig: Finding = { id: 'CIS-4.1-ROOT-USER', aliases: [], kind: 'misconfiguration', severity: 'medium', title: 'runs as root', links: [] };
const unscanned: Finding = { id: 'PORTCULLIS-UNSCANNED-OS', aliases: [], kind: 'coverage', severity: 'unknown', title: 'OS packages not scanned: distribution Fedora', links: [] };
const unscored: Finding = { id: 'PORTCULLIS-UNSCORED-SEVERITY:GHSA-x', aliases: ['GHSA-x', 'CVE-2024-9'], kind: 'coverage', severity: 'unknown', title: 'severity of GHSA-x could not be determined', links: [] };
const code = (severity: Finding['severity']): Finding => ({ id: 'js/sql-injection', aliases: [], kind: 'code', severity, title: 'sqli', links: [], path: 'a.js:1' });

const CRIT_FIXABLE = vuln('DSA-1', 'critical', '3.0.1', ['CVE-2024-1']);
const CRIT_UNFIXED = vuln('DSA-2', 'critical');
const HIGH_FIXABLE = vuln('DSA-3', 'high', '3.0.2');

function run(over: Partial<Omit<PolicyInput, 'config'>> & { config?: PolicyConfigInput } = {}) {
  return evaluate({
    findings: [],
    codeScans: [],
    waivers: [],
    team: 'payments',
    image: { repository: 'docker.io/library/nginx', digest: 'sha256:aaa' },
    now: NOW,
    ...over,
    config: policyConfigSchema.parse(over.config ?? {}),
  });
}
const waiver = (findingId: string, expires = FUTURE): Waiver => ({ findingId, reason: 'accepted', expires, by: 'alice' });

describe('policy defaults', () => {
  test('failOn [critical], onlyFixable, misconfigurations warn, coverage block, unscored advisories as coverage, no code scan required, onFail flag', () => {
    expect(policyConfigSchema.parse({})).toEqual({
      failOn: ['critical'], onlyFixable: true, misconfigurations: 'warn', coverage: 'block', unscoredSeverity: 'coverage', requireCodeScan: false, allowlist: [], onFail: 'flag',
      waivers: { maxDays: 365 },
    });
  });
  test('unknown keys and bad values are refused with their path', () => {
    expect(() => policyConfigSchema.parse({ failon: ['high'] })).toThrow(/failon/);
    const r = policyConfigSchema.safeParse({ allowlist: [{ id: 'X', reason: 'r', expires: 'someday' }] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['allowlist', 0, 'expires']);
  });
});

describe('evaluate', () => {
  test.each<[string, Parameters<typeof run>[0], 'pass' | 'fail', string[]]>([
    ['nothing found', {}, 'pass', []],
    ['a fixable critical fails', { findings: [CRIT_FIXABLE] }, 'fail', ['DSA-1']],
    ['an unfixed critical passes with onlyFixable', { findings: [CRIT_UNFIXED] }, 'pass', []],
    ['an unfixed critical fails without onlyFixable', { findings: [CRIT_UNFIXED], config: { onlyFixable: false } }, 'fail', ['DSA-2']],
    ['a high passes under the default failOn', { findings: [HIGH_FIXABLE] }, 'pass', []],
    ['a high fails when failOn includes it', { findings: [HIGH_FIXABLE, CRIT_FIXABLE], config: { failOn: ['critical', 'high'] } }, 'fail', ['DSA-3', 'DSA-1']],
    ['a waiver covers its finding', { findings: [CRIT_FIXABLE], waivers: [waiver('DSA-1')] }, 'pass', []],
    ['a waiver by alias covers it too', { findings: [CRIT_FIXABLE], waivers: [waiver('CVE-2024-1')] }, 'pass', []],
    ['an expired waiver is ignored', { findings: [CRIT_FIXABLE], waivers: [waiver('DSA-1', PAST)] }, 'fail', ['DSA-1']],
    ['a waiver for another finding does not help', { findings: [CRIT_FIXABLE], waivers: [waiver('DSA-9')] }, 'fail', ['DSA-1']],
    ['an allowlist entry covers it', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'CVE-2024-1', reason: 'r', expires: FUTURE }] } }, 'pass', []],
    ['an expired allowlist entry is ignored', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'DSA-1', reason: 'r', expires: PAST }] } }, 'fail', ['DSA-1']],
    ['an allowlist entry for another team is ignored', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'DSA-1', reason: 'r', expires: FUTURE, teams: ['web'] }] } }, 'fail', ['DSA-1']],
    ['an allowlist entry for this team applies', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'DSA-1', reason: 'r', expires: FUTURE, teams: ['payments'] }] } }, 'pass', []],
    ['an allowlist entry for another image is ignored', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'DSA-1', reason: 'r', expires: FUTURE, images: ['docker.io/library/redis'] }] } }, 'fail', ['DSA-1']],
    ['an allowlist image glob applies', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'DSA-1', reason: 'r', expires: FUTURE, images: ['docker.io/library/*'] }] } }, 'pass', []],
    ['an allowlist digest applies', { findings: [CRIT_FIXABLE], config: { allowlist: [{ id: 'DSA-1', reason: 'r', expires: FUTURE, images: ['sha256:aaa'] }] } }, 'pass', []],
    ['misconfigurations warn by default', { findings: [misconfig] }, 'pass', []],
    ['misconfigurations block when configured', { findings: [misconfig], config: { misconfigurations: 'block' } }, 'fail', ['CIS-4.1-ROOT-USER']],
    ['a blocked misconfiguration can be waived', { findings: [misconfig], config: { misconfigurations: 'block' }, waivers: [waiver('CIS-4.1-ROOT-USER')] }, 'pass', []],
    ['an unscanned OS blocks by default (fail closed)', { findings: [unscanned] }, 'fail', ['PORTCULLIS-UNSCANNED-OS']],
    ['an unscored severity blocks by default, whatever failOn says', { findings: [unscored], config: { failOn: ['critical'] } }, 'fail', ['PORTCULLIS-UNSCORED-SEVERITY:GHSA-x']],
    ['coverage findings only warn under coverage: warn', { findings: [unscanned, unscored], config: { coverage: 'warn' } }, 'pass', []],
    ['a coverage finding blocks even without a fixed version under onlyFixable', { findings: [unscored], config: { onlyFixable: true } }, 'fail', ['PORTCULLIS-UNSCORED-SEVERITY:GHSA-x']],
    ['unscoredSeverity: high counts an unscored advisory as high: blocks when failOn has high and it is fixable', { findings: [{ ...unscored, fixedVersion: '1.2' }], config: { unscoredSeverity: 'high', failOn: ['critical', 'high'] } }, 'fail', ['PORTCULLIS-UNSCORED-SEVERITY:GHSA-x']],
    ['unscoredSeverity: high passes it when failOn has only critical', { findings: [{ ...unscored, fixedVersion: '1.2' }], config: { unscoredSeverity: 'high', failOn: ['critical'] } }, 'pass', []],
    ['unscoredSeverity: critical passes it without a fix under onlyFixable, like any critical', { findings: [unscored], config: { unscoredSeverity: 'critical' } }, 'pass', []],
    ['unscoredSeverity leaves an unscanned OS to coverage (still blocks)', { findings: [unscanned, unscored], config: { unscoredSeverity: 'low' } }, 'fail', ['PORTCULLIS-UNSCANNED-OS']],
    ['waiving the advisory (an alias) accepts its unscored severity', { findings: [unscored], waivers: [waiver('CVE-2024-9')] }, 'pass', []],
    ['an approver can waive an unscanned OS explicitly', { findings: [unscanned], waivers: [waiver('PORTCULLIS-UNSCANNED-OS')] }, 'pass', []],
    ['a critical code finding fails (no fix version needed)', { codeScans: [{ tool: 'CodeQL', findings: [code('critical')] }] }, 'fail', ['js/sql-injection']],
    ['a medium code finding passes', { codeScans: [{ tool: 'CodeQL', findings: [code('medium')] }] }, 'pass', []],
  ])('%s', (_name, input, verdict, blockingIds) => {
    const r = run(input);
    expect(r.verdict).toBe(verdict);
    expect(r.blocking.map((f) => f.id)).toEqual(blockingIds);
    expect(r.reasons.length > 0).toBe(verdict === 'fail');
  });

  test('reasons explain the finding and its fix', () => {
    expect(run({ findings: [CRIT_FIXABLE] }).reasons).toEqual(['critical vulnerability DSA-1 in openssl 3.0.0 (fixed in 3.0.1): DSA-1 title']);
  });

  test('warnings list coverage findings under warn', () => {
    expect(run({ findings: [unscanned], config: { coverage: 'warn' } }).warnings).toEqual([
      'unknown coverage PORTCULLIS-UNSCANNED-OS: OS packages not scanned: distribution Fedora',
    ]);
  });

  test('warnings list misconfigurations under warn', () => {
    expect(run({ findings: [misconfig] }).warnings).toEqual(['medium misconfiguration CIS-4.1-ROOT-USER: runs as root']);
  });

  test.each<[PolicyConfigInput['requireCodeScan'], string, boolean, 'pass' | 'fail']>([
    [true, 'payments', false, 'fail'],
    [true, 'payments', true, 'pass'],
    [['payments'], 'payments', false, 'fail'],
    [['web'], 'payments', false, 'pass'],
    [false, 'payments', false, 'pass'],
  ])('requireCodeScan %j for team %s with evidence %s → %s', (requireCodeScan, team, evidence, verdict) => {
    const r = run({ team, config: { requireCodeScan }, codeScans: evidence ? [{ tool: 'CodeQL', findings: [] }] : [] });
    expect(r.verdict).toBe(verdict);
    if (verdict === 'fail') expect(r.reasons[0]).toContain('code-scan evidence');
  });

  test('a waiver expiring exactly now is no longer active', () => {
    expect(run({ findings: [CRIT_FIXABLE], waivers: [waiver('DSA-1', NOW.toISOString())] }).verdict).toBe('fail');
  });

  test('reasons are capped, the count of the rest is given', () => {
    const many = Array.from({ length: 30 }, (_, i) => vuln(`DSA-${i}`, 'critical', '9'));
    const r = run({ findings: many });
    expect(r.blocking).toHaveLength(30);
    expect(r.reasons).toHaveLength(26);
    expect(r.reasons[25]).toBe('... and 5 more blocking findings');
  });

  test('the waiver request body is validated', () => {
    expect(waiverRequestSchema.parse({ findingId: 'DSA-1', reason: 'r', expires: '2025-07-01' })).toEqual({ findingId: 'DSA-1', reason: 'r', expires: '2025-07-01T23:59:59.999Z' });
    expect(waiverRequestSchema.safeParse({ findingId: 'DSA-1', reason: '', expires: '2025-07-01' }).success).toBe(false);
    expect(waiverRequestSchema.safeParse({ findingId: 'DSA-1', reason: 'r', expires: '2025-07-01', by: 'me' }).success).toBe(false);
  });
});
