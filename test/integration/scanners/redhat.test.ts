/**
 * RHEL and UBI images against OSV's `Red Hat` ecosystem: a real rpmdb.sqlite (made with
 * Debian's rpm and rpmbuild, test/harness/rpmdb.ts) under an RHEL os-release, matched against
 * Red Hat's own OSV records (test/fixtures/osv/redhat, README there). Red Hat's ecosystems
 * are product streams (`Red Hat:enterprise_linux:7::server`, `…:8::appstream`,
 * `Red Hat:rhel_aus:8.6::appstream`); an image's packages match every mainline stream of its
 * major release and no minor-pinned one (src/scanners/osv/ecosystems.ts says why).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { buildImage, type ImageSpec } from '../../harness/images';
import { rpmDatabase, type RpmSpec } from '../../harness/rpmdb';
import { MemoryRegistry } from '../../unit/scanners/builtin/memory-registry';

const FIXTURES = path.join(__dirname, '../../fixtures/osv/redhat');
const rhel = (version: string, name = 'Red Hat Enterprise Linux') =>
  `NAME="${name}"\nVERSION="${version}"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="${version}"\nPRETTY_NAME="${name} ${version}"\nCPE_NAME="cpe:/o:redhat:enterprise_linux:${version.split('.')[0]}::baseos"\n`;

/** libvirt's source rpm built into the binaries an RHEL 7 host installs. */
const libvirt = (release: string, subpackages: string[]): RpmSpec => ({
  name: 'libvirt', version: '1.1.1', release, files: { '/usr/share/doc/libvirt/README': 'x' },
  subpackages: subpackages.map((name) => ({ name, files: { [`/usr/lib64/${name}.so`]: name } })),
});

describe('RHEL / UBI images and the Red Hat OSV ecosystem', () => {
  let osv: string;
  let scanner: BuiltinScanner;

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-redhat-'));
    cpSync(path.join(FIXTURES, 'RHSA-2024_4546.json'), path.join(osv, 'RHSA-2024_4546.json'));
    cpSync(path.join(FIXTURES, 'RHSA-2015_0008.json'), path.join(osv, 'RHSA-2015_0008.json'));
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv });
  });
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  async function scan(files: ImageSpec['layers'][number]['files']): Promise<ScanReport> {
    const img = await buildImage({ layers: [{ files }], config: { User: '1000' } });
    const registry = new MemoryRegistry().addImage(img);
    return scanner.scan({ registry, repository: 'q/ubi', digest: img.digest, registryUrl: registry.url });
  }
  const rows = (r: ScanReport) =>
    r.findings.map((f) => [f.kind, f.id, f.package ?? '', f.installedVersion ?? '', f.fixedVersion ?? '', f.severity, f.ecosystem ?? '']).sort();

  test('RHEL 7: the binaries of a vulnerable libvirt match RHSA-2015:0008 by their own name or their source rpm; the fixed build does not', async () => {
    const rpmdb = rpmDatabase([
      // libvirt-client is named in the record; libvirt-daemon-kvm only through its source rpm, libvirt.
      libvirt('29.el7', ['libvirt-client', 'libvirt-daemon-kvm']),
    ]);
    const r = await scan({ 'etc/os-release': rhel('7.9', 'Red Hat Enterprise Linux Server'), 'var/lib/rpm/rpmdb.sqlite': rpmdb });
    expect(r.status).toBe('succeeded');
    const eco = 'Red Hat:enterprise_linux:7';
    // Red Hat's record has no CVSS v3 score (the CSAF has none): its severity is unknown, and said.
    expect(rows(r)).toEqual([
      ['coverage', 'PORTCULLIS-UNSCORED-SEVERITY:RHSA-2015:0008', 'libvirt', '1.1.1-29.el7', '0:1.1.1-29.el7_0.4', 'unknown', eco],
      ['coverage', 'PORTCULLIS-UNSCORED-SEVERITY:RHSA-2015:0008', 'libvirt-client', '1.1.1-29.el7', '0:1.1.1-29.el7_0.4', 'unknown', eco],
      ['coverage', 'PORTCULLIS-UNSCORED-SEVERITY:RHSA-2015:0008', 'libvirt-daemon-kvm', '1.1.1-29.el7', '0:1.1.1-29.el7_0.4', 'unknown', eco],
      ['vulnerability', 'RHSA-2015:0008', 'libvirt', '1.1.1-29.el7', '0:1.1.1-29.el7_0.4', 'unknown', eco],
      ['vulnerability', 'RHSA-2015:0008', 'libvirt-client', '1.1.1-29.el7', '0:1.1.1-29.el7_0.4', 'unknown', eco],
      ['vulnerability', 'RHSA-2015:0008', 'libvirt-daemon-kvm', '1.1.1-29.el7', '0:1.1.1-29.el7_0.4', 'unknown', eco],
    ]);
    // Listed under two streams (server, workstation) and two names (binary, source): one finding each.
    const vuln = r.findings.find((f) => f.kind === 'vulnerability' && f.package === 'libvirt-client');
    expect(vuln).toMatchObject({ aliases: ['CVE-2014-7823'], title: 'Red Hat Security Advisory: libvirt security and bug fix update', path: '/var/lib/rpm/rpmdb.sqlite' });
    expect(vuln?.links[0]).toBe('https://access.redhat.com/errata/RHSA-2015:0008');

    const fixed = await scan({ 'etc/os-release': rhel('7.9'), 'var/lib/rpm/rpmdb.sqlite': rpmDatabase([libvirt('29.el7_0.4', ['libvirt-client', 'libvirt-daemon-kvm'])]) });
    expect(fixed.findings).toEqual([]);
  });

  test('another major release: the RHEL 7 advisory is no finding on RHEL 8 or RHEL 9 (UBI 9 under /usr/lib/sysimage)', async () => {
    const rpmdb = rpmDatabase([libvirt('29.el7', ['libvirt-client'])]);
    expect((await scan({ 'etc/os-release': rhel('8.10'), 'var/lib/rpm/rpmdb.sqlite': rpmdb })).findings).toEqual([]);
    expect((await scan({ 'usr/lib/os-release': rhel('9.4'), 'usr/lib/sysimage/rpm/rpmdb.sqlite': rpmdb })).findings).toEqual([]);
  });

  test('RHEL 8.6: RHSA-2024:4546 covers only the AUS, E4S and TUS streams of 8.6, which a UBI or mainline image does not use: no finding', async () => {
    const rpmdb = rpmDatabase([{ name: 'git-lfs', version: '2.13.3', release: '3.el8', files: { '/usr/bin/git-lfs': '#!' } }]);
    const r = await scan({ 'etc/os-release': rhel('8.6'), 'var/lib/rpm/rpmdb.sqlite': rpmdb });
    expect(r.status).toBe('succeeded');
    expect(r.findings).toEqual([]);
  });

  test('Fedora and Amazon Linux have no OSV ecosystem: their rpm databases are read but the image gets a coverage finding', async () => {
    const rpmdb = rpmDatabase([{ name: 'bash', version: '5.2.26', release: '3.fc40', files: { '/usr/bin/bash': '#!' } }]);
    for (const osRelease of [
      'NAME="Fedora Linux"\nVERSION_ID=40\nID=fedora\nPRETTY_NAME="Fedora Linux 40 (Container Image)"\n',
      'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\nPRETTY_NAME="Amazon Linux 2023.6.20241212"\n',
    ]) {
      const r = await scan({ 'etc/os-release': osRelease, 'var/lib/rpm/rpmdb.sqlite': rpmdb });
      expect(rows(r)).toEqual([['coverage', 'PORTCULLIS-UNSCANNED-OS', '', '', '', 'unknown', '']]);
    }
  });
});
