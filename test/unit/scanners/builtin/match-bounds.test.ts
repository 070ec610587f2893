/**
 * Matching is synchronous, so its cost is bounded before it starts: a scan whose (package ×
 * candidate advisory) comparisons exceed MAX_MATCH_COMPARISONS fails with SCAN_LIMIT_EXCEEDED
 * without comparing a version (100,000 dpkg records all `Source: linux` against 3,000 linux
 * advisories once held the worker for 358 s).
 */
import { MAX_MATCH_COMPARISONS, matchImage, matchInventory, type PlatformInventory, type VulnerabilityIndex } from '../../../../src/scanners/builtin/match';
import { OsvDatabase } from '../../../../src/scanners/osv/database';
import type { OsvRecord } from '../../../../src/scanners/osv/schema';
import type { InstalledPackage } from '../../../../src/scanners/packages';

const linuxAdvisory = (i: number): OsvRecord => ({
  id: `DEBIAN-CVE-2024-${10_000 + i}`, modified: '2024-01-01T00:00:00Z', summary: 'linux',
  affected: [{ package: { ecosystem: 'Debian:12', name: 'linux' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: `6.1.${i}-1` }] }] }],
} as OsvRecord);

const fromLinux = (i: number): InstalledPackage => ({ name: `p${i}`, sourceName: 'linux', version: '6.0-1', ecosystem: 'Debian:12', path: '/var/lib/dpkg/status' });

const image = (packages: InstalledPackage[], platform?: string): PlatformInventory =>
  ({ packages, coverage: [], hardening: [], manifestDigest: `sha256:${platform ?? 'm'}`, ...(platform ? { platform } : {}) });

describe('the cost of matching is bounded', () => {
  const advisories = 2_001;
  const db = new OsvDatabase();
  for (let i = 0; i < advisories; i++) db.add(linuxAdvisory(i));

  test('candidateCount counts what matchesFor compares, under every name of the package', () => {
    expect(db.candidateCount(fromLinux(0))).toBe(advisories);
    expect(db.candidateCount({ ...fromLinux(0), sourceName: undefined, name: 'linux' })).toBe(advisories);
    expect(db.candidateCount({ ...fromLinux(0), sourceName: undefined })).toBe(0);
  });

  test('10,000 packages from linux × 2,001 advisories is SCAN_LIMIT_EXCEEDED before any version is compared', () => {
    const packages = Array.from({ length: Math.ceil(MAX_MATCH_COMPARISONS / advisories) }, (_, i) => fromLinux(i));
    const compared = jest.spyOn(db, 'findingsFor').mockImplementation(() => { throw new Error('a version was compared'); });
    try {
      expect(() => matchImage(image(packages), db)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED' }));
      expect(() => matchInventory([image(packages)], db)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED' }));
      expect(compared).not.toHaveBeenCalled();
    } finally {
      compared.mockRestore();
    }
  });

  test('a scan at the bound is matched', () => {
    const index: VulnerabilityIndex = { findingsFor: () => [], candidateCount: () => MAX_MATCH_COMPARISONS / 2 };
    expect(matchInventory([image([fromLinux(0), fromLinux(1)])], index)).toEqual([]);
  });

  test('one budget for all platform images of an index', () => {
    const index: VulnerabilityIndex = { findingsFor: () => [], candidateCount: () => MAX_MATCH_COMPARISONS / 2 };
    const children = [image([fromLinux(0), fromLinux(1)], 'linux/amd64'), image([fromLinux(2)], 'linux/arm64')];
    expect(() => matchInventory(children, index)).toThrow(expect.objectContaining({ code: 'SCAN_LIMIT_EXCEEDED' }));
  });

  test('a real-sized image is matched as before', () => {
    const packages = Array.from({ length: 5 }, (_, i) => fromLinux(i));
    const findings = matchImage(image(packages), db);
    expect(findings).toHaveLength(5 * advisories);
    expect(findings[0]).toMatchObject({ id: 'DEBIAN-CVE-2024-10000', package: 'p0', kind: 'vulnerability' });
  });
});
