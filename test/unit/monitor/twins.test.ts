/**
 * A finding merged with its twin (GO-2022-1059 and GitHub's GHSA-69ch-w2m2-3vjp, real records,
 * see test/unit/scanners/builtin/twins.test.ts) keeps being the same finding for waivers, the
 * policy and the monitoring diff, whichever id it was known by at approval.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assess, findingsDiff } from '../../../src/monitor/assess';
import { monitorConfigSchema } from '../../../src/monitor/config';
import type { HealthRecord } from '../../../src/monitor/types';
import { evaluate, policyConfigSchema } from '../../../src/policy';
import { mergeTwins } from '../../../src/scanners/builtin/twins';
import { OsvDatabase } from '../../../src/scanners/osv/database';
import { osvRecordSchema } from '../../../src/scanners/osv/schema';
import type { Finding } from '../../../src/scanners/types';
import { realworld } from '../../harness/realworld';

const DAY = 86_400_000;
const now = new Date('2026-06-01T12:00:00Z');
const GO = osvRecordSchema.parse(JSON.parse(execFileSync('unzip', ['-p', realworld('osv', 'Go', 'all.zip'), 'GO-2022-1059.json'], { encoding: 'utf8' })));
const GHSA = osvRecordSchema.parse(JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/osv/go-ghsa/GHSA-69ch-w2m2-3vjp.json'), 'utf8')));
const pkg = { name: 'golang.org/x/text', version: '0.3.7', ecosystem: 'Go', path: '/app/server' };

function findings(...records: Array<typeof GO>): Finding[] {
  const db = new OsvDatabase();
  for (const r of records) db.add(r);
  return db.findingsFor(pkg);
}
/** What a scan stored before twins were merged: two findings. */
const unmerged = findings(GO, GHSA);
/** What a scan stored when only GitHub's record was in the data. */
const ghsaOnly = findings(GHSA);
/** What a scan stores now. */
const merged = mergeTwins(findings(GO, GHSA));

const policy = policyConfigSchema.parse({ failOn: ['critical', 'high'] });
const grace = monitorConfigSchema.parse({}).grace;
const request = (waivers: Array<{ findingId: string; expires: string }> = []) => ({
  team: 'payments', codeScans: [], waivers: waivers.map((w) => ({ ...w, reason: 'r', by: 'approver', at: '2026-01-01T00:00:00Z' })),
});
const base = { image: 'docker.io/acme/app', digest: 'sha256:x', grace, previous: null, now, policy };
const later = new Date(now.getTime() + 30 * DAY).toISOString();

describe('a merged twin finding in the policy and the monitor', () => {
  test('the data: two findings before, one merged finding now, led by the Go id', () => {
    expect(unmerged.map((f) => f.id).sort()).toEqual(['GHSA-69ch-w2m2-3vjp', 'GO-2022-1059']);
    expect(ghsaOnly.map((f) => [f.id, f.severity])).toEqual([['GHSA-69ch-w2m2-3vjp', 'high']]);
    expect(merged.map((f) => [f.id, f.aliases, f.severity])).toEqual([['GO-2022-1059', ['CVE-2022-32149', 'GHSA-69ch-w2m2-3vjp'], 'high']]);
  });

  test.each(['GHSA-69ch-w2m2-3vjp', 'GO-2022-1059', 'CVE-2022-32149'])('a waiver written against %s accepts the merged finding', (id) => {
    const r = evaluate({ findings: merged, codeScans: [], waivers: [{ findingId: id, reason: 'r', by: 'a', expires: later }], config: policy, team: 'payments', image: { repository: 'docker.io/acme/app', digest: 'sha256:x' }, now });
    expect(r.verdict).toBe('pass');
    expect(evaluate({ findings: merged, codeScans: [], waivers: [], config: policy, team: 'payments', image: { repository: 'docker.io/acme/app', digest: 'sha256:x' }, now }).blocking.map((f) => f.id)).toEqual(['GO-2022-1059']);
  });

  test('approved when the scan reported both twins: the merged finding is neither added nor removed, and known at approval', () => {
    expect(findingsDiff(unmerged, merged)).toEqual({ added: [], removed: [], addedTotal: 0, removedTotal: 0 });
    const a = assess({ ...base, request: request(), baseline: unmerged, current: merged });
    expect(a.blocking.map((b) => [b.id, b.cause])).toEqual([['GO-2022-1059', 'policy']]);
    expect(a.diff.addedTotal).toBe(0);
  });

  test('approved when only the GitHub record existed: the Go-led finding is not new, its waiver still holds, its deadline does not move', () => {
    expect(findingsDiff(ghsaOnly, merged)).toEqual({ added: [], removed: [], addedTotal: 0, removedTotal: 0 });
    expect(assess({ ...base, request: request([{ findingId: 'GHSA-69ch-w2m2-3vjp', expires: later }]), baseline: ghsaOnly, current: merged }).state).toBe('ok');
    // The waiver granted on the GitHub id expired: that is the cause, not a new finding.
    const expired = new Date(now.getTime() - DAY).toISOString();
    const lapsed = assess({ ...base, request: request([{ findingId: 'GHSA-69ch-w2m2-3vjp', expires: expired }]), baseline: ghsaOnly, current: merged });
    expect(lapsed.blocking.map((b) => [b.id, b.cause, b.since])).toEqual([['GO-2022-1059', 'waiver_expired', expired]]);
    // Blocking since an earlier evaluation under the GitHub id: the same deadline under the Go id.
    const first = assess({ ...base, request: request(), baseline: ghsaOnly, current: ghsaOnly, policy: policyConfigSchema.parse({ failOn: ['critical', 'high'] }), now: new Date(now.getTime() - 3 * DAY) });
    const previous = { blocking: first.blocking } as HealthRecord;
    const next = assess({ ...base, request: request(), baseline: ghsaOnly, current: merged, previous });
    expect(next.blocking.map((b) => [b.id, b.deadline])).toEqual([['GO-2022-1059', first.blocking[0]!.deadline]]);
  });

  test('sharing only a CVE is not the same finding; a really new one is still new', () => {
    const other: Finding = { ...merged[0]!, id: 'PYSEC-0000-1', aliases: ['CVE-2022-32149'] };
    const a = assess({ ...base, request: request(), baseline: merged, current: [...merged, other] });
    expect(a.blocking.map((b) => [b.id, b.cause]).sort()).toEqual([['GO-2022-1059', 'policy'], ['PYSEC-0000-1', 'new']]);
    expect(a.diff.added.map((f) => f.id)).toEqual(['PYSEC-0000-1']);
    // The same id in another package is another finding.
    const elsewhere: Finding = { ...merged[0]!, package: 'golang.org/x/net', installedVersion: '0.1.0' };
    expect(findingsDiff(merged, [elsewhere]).added.map((f) => [f.id, f.package])).toEqual([['GO-2022-1059', 'golang.org/x/net']]);
  });
});
