/**
 * A hostile Clair report must not multiply on the worker: a vulnerability's parts are derived
 * once and capped, whatever the number of packages referencing it, and a report listing more
 * (package, vulnerability) pairs than any real image has is a failed scan.
 */
import { vulnerabilityReportSchema, type VulnerabilityReport } from '../../../../src/scanners/clair/api';
import { MAX_CLAIR_FINDINGS, normalizeClairReport } from '../../../../src/scanners/clair/normalize';
import { MAX_FINDING_LINKS } from '../../../../src/scanners/types';

function report(references: number, vuln: Record<string, string>): VulnerabilityReport {
  return vulnerabilityReportSchema.parse({
    manifest_hash: `sha256:${'0'.repeat(64)}`,
    packages: { p: { id: 'p', name: 'openssl', version: '1' } },
    distributions: {},
    environments: {},
    vulnerabilities: { v: { id: 'v', name: 'CVE-2020-0001', normalized_severity: 'High', ...vuln } },
    package_vulnerabilities: { p: Array<string>(references).fill('v') },
  });
}

describe('Clair normalizer bounds', () => {
  test('a 9 MB links string referenced 300 times gives 300 findings of at most MAX_FINDING_LINKS links, one list shared', () => {
    const findings = normalizeClairReport(report(300, { links: 'http://a '.repeat(1_000_000) }));
    expect(findings).toHaveLength(300);
    expect(findings[0]!.links).toEqual(Array(MAX_FINDING_LINKS).fill('http://a'));
    expect(findings.every((f) => f.links === findings[0]!.links)).toBe(true);
  });

  test('links that are not http(s) are skipped, not counted against the cap', () => {
    const [f] = normalizeClairReport(report(1, { links: 'javascript:x ftp://y https://ok.example/1 https://ok.example/2' }));
    expect(f!.links).toEqual(['https://ok.example/1', 'https://ok.example/2']);
  });

  test('aliases from a links string naming many CVEs are capped', () => {
    const links = Array.from({ length: 50_000 }, (_, i) => `https://x/CVE-2021-${10_000 + i}`).join(' ');
    const findings = normalizeClairReport(report(10, { links }));
    expect(findings[0]!.id).toBe('CVE-2020-0001');
    expect(findings[0]!.aliases.length).toBeLessThanOrEqual(32);
  });

  test('a Red Hat record linking one CVE still takes that CVE as its id', () => {
    const [f] = normalizeClairReport(report(1, { name: 'libssh: Missing checks (low)', links: 'https://access.redhat.com/security/cve/CVE-2021-3634' }));
    expect(f!.id).toBe('CVE-2021-3634');
    expect(f!.aliases).toEqual([]);
  });

  test('a long description is read for its first line only, once', () => {
    const findings = normalizeClairReport(report(400, { description: `first line\n${'y'.repeat(4 * 1024 * 1024)}` }));
    expect(findings).toHaveLength(400);
    expect(findings[0]!.title).toBe('first line');
  });

  test('more references than MAX_CLAIR_FINDINGS is a failed scan (SCAN_FAILED), not a crash', () => {
    expect(() => normalizeClairReport(report(MAX_CLAIR_FINDINGS + 1, {}))).toThrow(
      expect.objectContaining({ code: 'SCAN_FAILED', message: expect.stringContaining(String(MAX_CLAIR_FINDINGS)) }),
    );
    expect(normalizeClairReport(report(MAX_CLAIR_FINDINGS, {}))).toHaveLength(MAX_CLAIR_FINDINGS);
  });
});
