/**
 * The Clair normalizer over real Clair v4 matcher reports (quay's test data, in
 * ../shared/realworld/clair/): no package–vulnerability pair may be lost, whatever the
 * reports' oddities (year-0000 `issued`, versions such as `<3.3.2`, empty distributions,
 * the same advisory listed once per Red Hat repository).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { vulnerabilityReportSchema, type VulnerabilityReport } from '../../../../src/scanners/clair/api';
import { mergeFindings } from '../../../../src/scanners/clair/images';
import { normalizeClairReport } from '../../../../src/scanners/clair/normalize';
import { withCoverage } from '../../../../src/scanners/coverage';
import type { Finding } from '../../../../src/scanners/types';
import { realworld } from '../../../harness/realworld';

const REAL = realworld('clair');
const load = (name: string): VulnerabilityReport => vulnerabilityReportSchema.parse(JSON.parse(readFileSync(path.join(REAL, name), 'utf8')));
/** What the adapter returns for one image's report. */
const findingsOf = (r: VulnerabilityReport): Finding[] => withCoverage(mergeFindings([normalizeClairReport(r)]));

/** Every (package, vulnerability) pair of the report has a finding naming that package, version and advisory. */
function lostPairs(r: VulnerabilityReport, findings: Finding[]): string[] {
  const lost: string[] = [];
  for (const [pkgId, vulnIds] of Object.entries(r.package_vulnerabilities)) {
    const pkg = r.packages[pkgId]!;
    for (const vulnId of vulnIds ?? []) {
      const v = r.vulnerabilities[vulnId]!;
      const text = `${v.name} ${v.links ?? ''}`;
      const found = findings.some(
        (f) => f.kind === 'vulnerability' && f.package === pkg.name && f.installedVersion === pkg.version &&
          (text.includes(f.id) || v.name.trim() === f.id) && f.fixedVersion === (v.fixed_in_version || undefined),
      );
      if (!found) lost.push(`${pkg.name} ${pkg.version} ${v.name}`);
    }
  }
  return lost;
}

describe('Clair normalizer on real reports', () => {
  test('RHEL 8 (177 pairs, every advisory listed once per Red Hat repository): 89 distinct findings, none lost', () => {
    const r = load('vulnerabilityreport.json');
    const findings = findingsOf(r);
    expect(lostPairs(r, findings)).toEqual([]);
    expect(findings.filter((f) => f.kind === 'vulnerability')).toHaveLength(89);
    expect(findings.find((f) => f.id === 'RHSA-2024:0628' && f.package === 'libssh-config')).toEqual({
      id: 'RHSA-2024:0628', aliases: ['CVE-2023-48795'], kind: 'vulnerability', package: 'libssh-config', ecosystem: 'rhel:8',
      installedVersion: '0.9.6-10.el8_8', fixedVersion: '0:0.9.6-13.el8_9', severity: 'medium',
      cvss: { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N', score: 5.9 },
      title: 'libssh is a library which implements the SSH protocol. It can be used to implement client and server applications.',
      links: ['https://access.redhat.com/errata/RHSA-2024:0628', 'https://access.redhat.com/security/cve/CVE-2023-48795'],
      layer: 'sha256:e623cf60cbc41de800d3ca5284181bd9168fc0be44b2fbfc05ba78cefcf315b1', path: 'bdb:var/lib/rpm',
    });
    // Red Hat's per-CVE records are named by a sentence: the CVE they link is the id.
    expect(findings.find((f) => f.id === 'CVE-2023-6918' && f.package === 'libssh-config')).toMatchObject({
      severity: 'low', title: expect.stringMatching(/^DOCUMENTATION: A flaw was found in the libssh/),
    });
    expect(findings.find((f) => f.id === 'CVE-2023-6918')).not.toHaveProperty('fixedVersion');
    // The one vulnerability Clair could not rate is a coverage finding too.
    expect(findings.filter((f) => f.kind === 'coverage').map((f) => [f.id, f.package])).toEqual([
      ['PORTCULLIS-UNSCORED-SEVERITY:GHSA-jq35-85cj-fj4p', 'github.com/docker/docker'],
    ]);
  });

  test('a report listing the same pair twice yields it once', () => {
    const r = load('vulnerabilityreport_duplicates.json');
    const findings = findingsOf(r);
    expect(lostPairs(r, findings)).toEqual([]);
    expect(findings.map((f) => [f.id, f.package, f.installedVersion]).sort()).toEqual([
      ['RHSA-2022:6457', 'platform-python', '3.6.8-45.el8'],
      ['RHSA-2022:6457', 'python3-libs', '3.6.8-45.el8'],
      ['RHSA-2022:6463', 'gnupg2', '2.2.20-2.el8'],
    ]);
  });

  test('enrichments, year-0000 dates, `<3.3.2` versions and empty distributions: all 26 pairs kept', () => {
    const r = load('vulnerabilityreport_withenrichments.json');
    const findings = findingsOf(r);
    expect(lostPairs(r, findings)).toEqual([]);
    expect(findings.filter((f) => f.kind === 'vulnerability')).toHaveLength(26);
    const pyup = findings.find((f) => f.id === 'pyup.io-39606 (CVE-2020-36242)');
    expect(pyup).toMatchObject({ aliases: ['CVE-2020-36242'], package: 'cryptography', installedVersion: '2.2.2', severity: 'critical' });
    // Two pyup records about one CVE for one package are two pairs, both kept.
    expect(findings.filter((f) => f.aliases.includes('CVE-2018-14505')).map((f) => f.id).sort()).toEqual([
      'pyup.io-36352 (CVE-2018-14505)', 'pyup.io-36353 (CVE-2018-14505)',
    ]);
    expect(pyup?.ecosystem).toBeUndefined(); // the empty distribution names none
    expect(findings.filter((f) => f.kind === 'coverage').map((f) => f.id).sort()).toEqual([
      'PORTCULLIS-UNSCORED-SEVERITY:pyup.io-38179',
      'PORTCULLIS-UNSCORED-SEVERITY:pyup.io-39252',
    ]);
  });
});
