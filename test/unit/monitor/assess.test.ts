/**
 * The pure assessment: what blocks under today's policy, why (new finding, expired waiver,
 * policy), by when (monitor.grace per severity, measured from when it started to block), and
 * that re-evaluating never moves a deadline.
 */
import { policyConfigSchema } from '../../../src/policy/config';
import { assess, findingsDiff } from '../../../src/monitor/assess';
import { monitorConfigSchema } from '../../../src/monitor/config';
import type { Finding } from '../../../src/scanners/types';
import type { HealthRecord } from '../../../src/monitor/types';

const DAY = 86_400_000;
const grace = monitorConfigSchema.parse({}).grace;
const vuln = (id: string, severity: Finding['severity'], pkg = 'openssl'): Finding => ({
  id, aliases: [], kind: 'vulnerability', package: pkg, installedVersion: '1.0', fixedVersion: '1.1', severity, title: id, links: [],
});
const now = new Date('2026-06-01T12:00:00Z');
const request = (waivers: Array<{ findingId: string; expires: string }> = []) => ({
  team: 'payments', codeScans: [], waivers: waivers.map((w) => ({ ...w, reason: 'r', by: 'approver', at: '2026-01-01T00:00:00Z' })),
});
const base = { image: 'docker.io/library/nginx', digest: 'sha256:x', grace, previous: null, now };

describe('approval health assessment', () => {
  it('defaults: critical 0d, high 7d, medium 30d, low 90d, unknown 30d', () => {
    expect(grace).toEqual({ critical: 0, high: 7 * DAY, medium: 30 * DAY, low: 90 * DAY, unknown: 30 * DAY });
    expect(() => monitorConfigSchema.parse({ grace: { high: '7 days' } })).toThrow(/duration/);
  });

  it('is ok when nothing new blocks, at_risk with a per-severity deadline when a new finding does', () => {
    const policy = policyConfigSchema.parse({ failOn: ['critical', 'high'] });
    const baseline = [vuln('CVE-OLD', 'low')];
    expect(assess({ ...base, request: request(), baseline, current: baseline, policy }).state).toBe('ok');
    const a = assess({ ...base, request: request(), baseline, current: [...baseline, vuln('CVE-NEW-H', 'high'), vuln('CVE-NEW-C', 'critical', 'zlib')], policy });
    expect(a.state).toBe('at_risk');
    expect(a.blocking.map((b) => [b.id, b.cause, b.deadline])).toEqual([
      ['CVE-NEW-C', 'new', now.toISOString()],
      ['CVE-NEW-H', 'new', new Date(now.getTime() + 7 * DAY).toISOString()],
    ]);
    expect(a.deadline).toBe(now.toISOString());
    expect(a.maxSeverity).toBe('critical');
    expect(a.diff).toMatchObject({ addedTotal: 2, removedTotal: 0 });
  });

  it('names an expired waiver as the cause, the deadline counted from its expiry', () => {
    const policy = policyConfigSchema.parse({ failOn: ['high'] });
    const baseline = [vuln('CVE-W', 'high')];
    const expires = new Date(now.getTime() - 2 * DAY).toISOString();
    const held = assess({ ...base, request: request([{ findingId: 'CVE-W', expires: new Date(now.getTime() + DAY).toISOString() }]), baseline, current: baseline, policy });
    expect(held.state).toBe('ok');
    const a = assess({ ...base, request: request([{ findingId: 'CVE-W', expires }]), baseline, current: baseline, policy });
    expect(a.blocking).toEqual([expect.objectContaining({ id: 'CVE-W', cause: 'waiver_expired', since: expires, deadline: new Date(Date.parse(expires) + 7 * DAY).toISOString() })]);
  });

  it('calls a finding known at approval and never waived a policy change', () => {
    const baseline = [vuln('CVE-M', 'medium')];
    const a = assess({ ...base, request: request(), baseline, current: baseline, policy: policyConfigSchema.parse({ failOn: ['critical', 'medium'] }) });
    expect(a.blocking.map((b) => b.cause)).toEqual(['policy']);
  });

  it('keeps a deadline once set: a later evaluation grants no more grace', () => {
    const policy = policyConfigSchema.parse({ failOn: ['high'] });
    const current = [vuln('CVE-H', 'high')];
    const first = assess({ ...base, request: request(), baseline: [], current, policy });
    const previous = { blocking: first.blocking } as HealthRecord;
    const later = assess({ ...base, request: request(), baseline: [], current, policy, previous, now: new Date(now.getTime() + 3 * DAY) });
    expect(later.deadline).toBe(first.deadline);
  });

  it('diffs by advisory and package, severest first, and caps the lists', () => {
    const many = Array.from({ length: 250 }, (_, i) => vuln(`CVE-${i}`, i === 7 ? 'critical' : 'low', `p${i}`));
    const d = findingsDiff([vuln('CVE-GONE', 'high')], many);
    expect(d).toMatchObject({ addedTotal: 250, removedTotal: 1 });
    expect(d.added).toHaveLength(200);
    expect(d.added[0].id).toBe('CVE-7');
    expect(d.removed.map((f) => f.id)).toEqual(['CVE-GONE']);
  });
});

describe('deadlines of findings without a package', () => {
  it('a blocking misconfiguration keeps its deadline across evaluations (the health record keeps no path)', () => {
    const f: Finding = { id: 'PCS-SETUID', aliases: [], kind: 'misconfiguration', severity: 'high', title: 'setuid file', links: [], path: '/usr/bin/x' };
    const policy = policyConfigSchema.parse({ misconfigurations: 'block' });
    const first = assess({ ...base, request: request(), baseline: [], current: [f], policy });
    expect(first.blocking.map((b) => [b.id, b.cause])).toEqual([['PCS-SETUID', 'new']]);
    const previous = { blocking: first.blocking } as HealthRecord;
    const later = assess({ ...base, request: request(), baseline: [], current: [f], policy, previous, now: new Date(now.getTime() + 3 * DAY) });
    expect(later.blocking.map((b) => [b.since, b.deadline])).toEqual([[first.blocking[0]!.since, first.blocking[0]!.deadline]]);
  });
});
