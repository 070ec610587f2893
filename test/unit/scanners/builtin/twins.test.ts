/**
 * Twin records: the Go database's GO-2022-1059 (../shared/realworld/osv/Go/all.zip) and
 * GitHub's GHSA-69ch-w2m2-3vjp (test/fixtures/osv/go-ghsa, a real record) report one
 * vulnerability of golang.org/x/text; matched against one installed module they are one
 * finding, led by the Go id, whichever order the data was loaded in.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { OsvDatabase } from '../../../../src/scanners/osv/database';
import { osvRecordSchema } from '../../../../src/scanners/osv/schema';
import { matchInventory } from '../../../../src/scanners/builtin/match';
import { mergeTwins } from '../../../../src/scanners/builtin/twins';
import type { InstalledPackage } from '../../../../src/scanners/packages';
import type { Finding } from '../../../../src/scanners/types';
import { realworld } from '../../../harness/realworld';

const goRecord = (id: string) => osvRecordSchema.parse(JSON.parse(execFileSync('unzip', ['-p', realworld('osv', 'Go', 'all.zip'), `${id}.json`], { encoding: 'utf8' })));
const GHSA = osvRecordSchema.parse(JSON.parse(readFileSync(path.join(__dirname, '../../../fixtures/osv/go-ghsa/GHSA-69ch-w2m2-3vjp.json'), 'utf8')));
const text = (version: string): InstalledPackage => ({ name: 'golang.org/x/text', version, ecosystem: 'Go', path: '/app/server', layer: 'sha256:l1' });

function database(order: 'go-first' | 'ghsa-first'): OsvDatabase {
  const db = new OsvDatabase();
  const records = [goRecord('GO-2022-1059'), goRecord('GO-2026-5970'), GHSA];
  for (const r of order === 'go-first' ? records : [...records].reverse()) db.add(r);
  return db;
}

describe('twin advisories of one package', () => {
  test('the database reports both records for golang.org/x/text 0.3.7 (what used to be two findings)', () => {
    expect(database('go-first').findingsFor(text('0.3.7')).map((f) => f.id).sort()).toEqual(['GHSA-69ch-w2m2-3vjp', 'GO-2022-1059', 'GO-2026-5970']);
  });

  test.each(['go-first', 'ghsa-first'] as const)('merged into one finding led by GO-2022-1059, with the GitHub id as an alias and the highest severity (%s)', (order) => {
    const found = mergeTwins(database(order).findingsFor(text('0.3.7')));
    expect(found.map((f) => f.id).sort()).toEqual(['GO-2022-1059', 'GO-2026-5970']);
    const twin = found.find((f) => f.id === 'GO-2022-1059');
    expect(twin).toEqual({
      id: 'GO-2022-1059',
      aliases: ['CVE-2022-32149', 'GHSA-69ch-w2m2-3vjp'],
      kind: 'vulnerability',
      package: 'golang.org/x/text',
      ecosystem: 'Go',
      installedVersion: '0.3.7',
      fixedVersion: '0.3.8',
      severity: 'high',
      cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', score: 7.5 },
      title: 'Denial of service via crafted Accept-Language header in golang.org/x/text/language',
      links: [
        'https://go.dev/issue/56152', 'https://go.dev/cl/442235', 'https://groups.google.com/g/golang-announce/c/-hjNw559_tE/m/KlGTfid5CAAJ',
        'https://nvd.nist.gov/vuln/detail/CVE-2022-32149', 'https://github.com/golang/go/issues/56152',
        'https://github.com/golang/text/commit/434eadcdbc3b0256971992e8c70027278364c72c', 'https://github.com/golang/text',
      ],
      path: '/app/server',
      layer: 'sha256:l1',
    });
    // The unrelated record (only a CVE alias of its own) stays as it was: unscored.
    expect(found.find((f) => f.id === 'GO-2026-5970')).toMatchObject({ aliases: ['CVE-2026-56852'], severity: 'unknown' });
  });

  test('the fixed version installed: neither record is a finding', () => {
    expect(mergeTwins(database('go-first').findingsFor(text('0.3.8'))).map((f) => f.id)).toEqual(['GO-2026-5970']);
  });

  test('a whole-image match: one vulnerability finding for the twins, and no unscored-severity coverage finding for it', () => {
    const findings = matchInventory([{ manifestDigest: 'sha256:m', packages: [text('0.3.7')], coverage: [], hardening: [] }], database('ghsa-first'));
    expect(findings.map((f) => `${f.kind} ${f.id}`).sort()).toEqual([
      'coverage PORTCULLIS-UNSCORED-SEVERITY:GO-2026-5970', 'vulnerability GO-2022-1059', 'vulnerability GO-2026-5970',
    ]);
  });

  const f = (id: string, aliases: string[], over: Partial<Finding> = {}): Finding => ({
    id, aliases, kind: 'vulnerability', package: 'p', ecosystem: 'PyPI', installedVersion: '1.0', severity: 'unknown', title: id, links: [], path: '/x', ...over,
  });

  test('records that only share a CVE are not merged; a chain of aliases is; the highest fix and the severest record win', () => {
    const shareCve = [f('PYSEC-2024-1', ['CVE-2024-1']), f('GHSA-aaaa-bbbb-cccc', ['CVE-2024-1'])];
    expect(mergeTwins(shareCve)).toEqual(shareCve);
    const chain = mergeTwins([
      f('OSV-2024-9', [], { severity: 'low', fixedVersion: '1.2' }),
      f('GHSA-aaaa-bbbb-cccc', ['CVE-2024-1', 'OSV-2024-9'], { severity: 'critical', cvss: { version: '3.1', vector: 'v', score: 9.8 }, fixedVersion: '1.10' }),
      f('PYSEC-2024-1', ['GHSA-aaaa-bbbb-cccc'], { severity: 'medium', fixedVersion: '1.3' }),
    ]);
    expect(chain).toEqual([expect.objectContaining({
      id: 'PYSEC-2024-1', aliases: ['GHSA-aaaa-bbbb-cccc', 'CVE-2024-1', 'OSV-2024-9'], severity: 'critical', cvss: { version: '3.1', vector: 'v', score: 9.8 }, fixedVersion: '1.10',
    })]);
    // Other kinds pass through untouched.
    const coverage = { ...f('PORTCULLIS-UNSCANNED-OS', []), kind: 'coverage' as const };
    expect(mergeTwins([coverage, ...shareCve])).toEqual([coverage, ...shareCve]);
  });
});
