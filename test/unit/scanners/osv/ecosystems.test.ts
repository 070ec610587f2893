/**
 * Ubuntu's OSV ecosystem names. The record below has the shape Ubuntu's OSV feed publishes
 * (UBUNTU-CVE-… ids, one `affected` entry per release, `ECOSYSTEM` ranges, the Ubuntu
 * priority as a severity of type `Ubuntu`), trimmed to the fields the scanner reads.
 */
import { canonicalEcosystem } from '../../../../src/scanners/osv/ecosystems';
import { OsvDatabase } from '../../../../src/scanners/osv/database';
import { distroEcosystem } from '../../../../src/scanners/builtin/parsers/os-release';
import type { InstalledPackage } from '../../../../src/scanners/packages';

const glibc = (ecosystem: string, fixed: string) => ({
  package: { ecosystem, name: 'glibc' },
  ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }],
});

const RECORD = {
  id: 'UBUNTU-CVE-2024-2961',
  modified: '2024-05-01T00:00:00Z',
  upstream: ['CVE-2024-2961'],
  summary: 'glibc: out-of-bounds write in iconv ISO-2022-CN-EXT',
  severity: [{ type: 'Ubuntu', score: 'medium' }],
  affected: [
    glibc('Ubuntu:22.04:LTS', '2.35-0ubuntu3.7'),
    glibc('Ubuntu:23.10', '2.38-1ubuntu6.2'),
    glibc('Ubuntu:Pro:18.04:LTS', '2.27-3ubuntu1.6+esm1'),
    glibc('Ubuntu:Pro:FIPS-updates:20.04:LTS', '2.31-0ubuntu9.15+fips1'),
  ],
};

describe('Ubuntu OSV ecosystems', () => {
  test.each([
    ['Ubuntu:22.04:LTS', 'Ubuntu:22.04'],
    ['Ubuntu:23.10', 'Ubuntu:23.10'],
    ['Ubuntu:24.04:LTS', 'Ubuntu:24.04'],
    ['Ubuntu:Pro:18.04:LTS', 'Ubuntu:Pro:18.04:LTS'],
    ['Ubuntu:Pro:FIPS-updates:22.04:LTS', 'Ubuntu:Pro:FIPS-updates:22.04:LTS'],
    ['Ubuntu:22.04:LTS:Realtime:Kernel', 'Ubuntu:22.04:LTS:Realtime:Kernel'],
    ['Debian:12', 'Debian:12'],
  ])('%s → %s', (osv, canonical) => {
    expect(canonicalEcosystem(osv)).toBe(canonical);
  });

  const db = new OsvDatabase();
  db.add(RECORD as Parameters<OsvDatabase['add']>[0]);
  const libc = (versionId: string, version: string): InstalledPackage => ({
    name: 'libc6', sourceName: 'glibc', version, ecosystem: distroEcosystem({ ID: 'ubuntu', VERSION_ID: versionId }, 'dpkg')!, path: '/var/lib/dpkg/status',
  });

  test('an Ubuntu 22.04 image matches the `Ubuntu:22.04:LTS` entry, with its fix and Ubuntu priority', () => {
    expect(db.findingsFor(libc('22.04', '2.35-0ubuntu3.6')).map((f) => [f.id, f.ecosystem, f.installedVersion, f.fixedVersion, f.severity, f.aliases.join()])).toEqual([
      ['UBUNTU-CVE-2024-2961', 'Ubuntu:22.04', '2.35-0ubuntu3.6', '2.35-0ubuntu3.7', 'medium', 'CVE-2024-2961'],
    ]);
    expect(db.findingsFor(libc('22.04', '2.35-0ubuntu3.7'))).toEqual([]);
  });

  test('a non-LTS release matches its own entry; Pro and FIPS entries do not match standard images', () => {
    expect(db.findingsFor(libc('23.10', '2.38-1ubuntu6.1')).map((f) => f.fixedVersion)).toEqual(['2.38-1ubuntu6.2']);
    expect(db.findingsFor(libc('18.04', '2.27-3ubuntu1.5'))).toEqual([]);
    expect(db.findingsFor(libc('20.04', '2.31-0ubuntu9.14'))).toEqual([]);
  });
});
