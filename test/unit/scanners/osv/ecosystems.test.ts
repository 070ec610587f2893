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

describe('Red Hat OSV ecosystems', () => {
  test.each([
    // Mainline streams of a major release: the name an RHEL image's packages carry.
    ['Red Hat:enterprise_linux:9::baseos', 'Red Hat:enterprise_linux:9'],
    ['Red Hat:enterprise_linux:9::appstream', 'Red Hat:enterprise_linux:9'],
    ['Red Hat:enterprise_linux:8::crb', 'Red Hat:enterprise_linux:8'],
    ['Red Hat:enterprise_linux:7::server', 'Red Hat:enterprise_linux:7'],
    // RHEL 10 names a stream per minor release, without a repository.
    ['Red Hat:enterprise_linux:10.0', 'Red Hat:enterprise_linux:10'],
    ['Red Hat:enterprise_linux:10.1', 'Red Hat:enterprise_linux:10'],
    ['Red Hat:enterprise_linux:10.1::appstream', 'Red Hat:enterprise_linux:10'],
    // Minor-pinned and layered products keep their own name (and so match no image).
    ['Red Hat:rhel_eus:9.2::appstream', 'Red Hat:rhel_eus:9.2::appstream'],
    ['Red Hat:rhel_aus:8.6::appstream', 'Red Hat:rhel_aus:8.6::appstream'],
    ['Red Hat:enterprise_linux:8.2::baseos', 'Red Hat:enterprise_linux:8.2::baseos'],
    ['Red Hat:openshift:4.16::el9', 'Red Hat:openshift:4.16::el9'],
    ['Red Hat:rhel_software_collections:3::el7', 'Red Hat:rhel_software_collections:3::el7'],
  ])('%s → %s', (osv, canonical) => {
    expect(canonicalEcosystem(osv)).toBe(canonical);
  });

  test.each([
    [{ ID: 'rhel', VERSION_ID: '9.4' }, 'Red Hat:enterprise_linux:9'],
    [{ ID: 'rhel', VERSION_ID: '10.0' }, 'Red Hat:enterprise_linux:10'],
    [{ ID: 'rhel', VERSION_ID: '8' }, 'Red Hat:enterprise_linux:8'],
    [{ ID: 'rhel' }, null],
    [{ ID: 'fedora', VERSION_ID: '40' }, null],
    [{ ID: 'amzn', VERSION_ID: '2023' }, null],
    [{ ID: 'centos', VERSION_ID: '9' }, null],
  ])('os-release %j → %s', (osRelease, ecosystem) => {
    expect(distroEcosystem(osRelease, 'rpm')).toBe(ecosystem);
  });

  const rpm = (name: string) => ({ package: { ecosystem: 'Red Hat:enterprise_linux:10.0', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0:3.12.9-1.el10_0.1' }] }] });
  // Red Hat's records name binary rpms and source rpms alike: one names only a binary, one only the source.
  const db = new OsvDatabase();
  db.add({ id: 'RHSA-2099:1000', modified: '2099-01-01T00:00:00Z', affected: [rpm('python3.12-libs')] } as Parameters<OsvDatabase['add']>[0]);
  db.add({ id: 'RHSA-2099:1001', modified: '2099-01-01T00:00:00Z', affected: [rpm('python3.12'), rpm('python3.12-devel')] } as Parameters<OsvDatabase['add']>[0]);
  const installed = (name: string, sourceName: string | undefined, version: string): InstalledPackage => ({
    name, ...(sourceName ? { sourceName } : {}), version, ecosystem: distroEcosystem({ ID: 'rhel', VERSION_ID: '10.1' }, 'rpm')!, path: '/var/lib/rpm/rpmdb.sqlite',
  });
  const found = (p: InstalledPackage) => db.findingsFor(p).map((f) => [f.id, f.package, f.fixedVersion]);

  test('an RHEL 10.1 package matches 10.0 stream records under its binary name and under its source rpm, each record once', () => {
    expect(found(installed('python3.12-libs', 'python3.12', '3.12.9-1.el10_0'))).toEqual([
      ['RHSA-2099:1000', 'python3.12-libs', '0:3.12.9-1.el10_0.1'],
      ['RHSA-2099:1001', 'python3.12-libs', '0:3.12.9-1.el10_0.1'],
    ]);
    // Named by both its binary and its source name in one record: one finding.
    expect(found(installed('python3.12-devel', 'python3.12', '3.12.9-1.el10_0')).map((f) => f[0])).toEqual(['RHSA-2099:1001']);
    // Not named by its own name: found through its source rpm only.
    expect(found(installed('python3.12-tkinter', 'python3.12', '3.12.9-1.el10_0'))).toEqual([['RHSA-2099:1001', 'python3.12-tkinter', '0:3.12.9-1.el10_0.1']]);
    expect(found(installed('python3.12-libs', 'python3.12', '3.12.9-1.el10_0.1'))).toEqual([]);
  });

  test('other distributions look up the source name only (Rocky, Alma name source packages)', () => {
    const rocky = new OsvDatabase();
    const range = [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:3.0.7-18.el9' }] }];
    rocky.add({ id: 'RLSA-2099:1', modified: '2099-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'Rocky Linux:9', name: 'openssl-libs' }, ranges: range }] } as Parameters<OsvDatabase['add']>[0]);
    const pkg = { name: 'openssl-libs', version: '1:3.0.7-16.el9', ecosystem: 'Rocky Linux:9', path: '/var/lib/rpm/rpmdb.sqlite' };
    expect(rocky.findingsFor({ ...pkg, sourceName: 'openssl' })).toEqual([]);
    expect(rocky.findingsFor(pkg).map((f) => f.id)).toEqual(['RLSA-2099:1']);
  });
});
