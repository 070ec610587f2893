/**
 * RPM distributions: a real rpmdb.sqlite (made with Debian's rpm and rpmbuild, see
 * test/harness/rpmdb.ts) in Rocky Linux 9 and UBI 9 images, advisories in Rocky's OSV form.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { buildImage, type ImageSpec } from '../../harness/images';
import { rpmDatabase } from '../../harness/rpmdb';
import { MemoryRegistry } from '../../unit/scanners/builtin/memory-registry';

const ROCKY = 'NAME="Rocky Linux"\nVERSION="9.2 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.2"\nPRETTY_NAME="Rocky Linux 9.2 (Blue Onyx)"\n';
const UBI = 'NAME="Red Hat Enterprise Linux"\nVERSION="9.2 (Plow)"\nID="rhel"\nVERSION_ID="9.2"\nPRETTY_NAME="Red Hat Enterprise Linux 9.2 (Plow)"\n';
const SIX_METADATA = 'Metadata-Version: 2.1\nName: six\nVersion: 1.15.0\n';
const SIX = '/usr/lib/python3.9/site-packages/six-1.15.0.dist-info/METADATA';

const range = (ecosystem: string, name: string, fixed: string) => ({ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] });

describe('rpm databases', () => {
  let osv: string;
  let scanner: BuiltinScanner;
  let rpmdb: Buffer;

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-rpm-'));
    const rec = (id: string, affected: unknown[], severity = 'Important') =>
      writeFileSync(path.join(osv, `${id.replace(':', '-')}.json`), JSON.stringify({ id, modified: '2024-01-01T00:00:00Z', summary: `${id} advisory`, affected, database_specific: { severity } }));
    rec('RLSA-2023:3722', [range('Rocky Linux:9', 'openssl-libs', '1:3.0.7-16.el9_2')]);
    rec('RLSA-2023:0001', [range('Rocky Linux:9', 'openssl-libs', '1:3.0.7-16.el9')]); // fixed at the installed version
    rec('RLSA-2023:0002', [range('Rocky Linux:8', 'openssl-libs', '1:3.0.7-99.el8')]); // another release
    rec('RLSA-2023:0003', [range('Rocky Linux:9', 'bash', '5.1.8-6.el9_1')], 'Moderate');
    rec('PYSEC-2099-1', [range('PyPI', 'six', '1.16.0')], 'HIGH');
    // Red Hat's streams: every mainline stream of RHEL 9 applies to a UBI 9 image, a minor-pinned one does not.
    rec('RHSA-2099:0001', [range('Red Hat:enterprise_linux:9::baseos', 'openssl-libs', '1:3.0.7-18.el9_2'), range('Red Hat:enterprise_linux:9::appstream', 'openssl-libs', '1:3.0.7-18.el9_2')]);
    rec('RHSA-2099:0002', [range('Red Hat:rhel_eus:9.2::baseos', 'openssl-libs', '1:3.0.7-16.el9_2.1')]);
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv });
    rpmdb = rpmDatabase([
      { name: 'openssl-libs', epoch: 1, version: '3.0.7', release: '16.el9', files: { '/usr/lib64/libssl.so.3': 'x', [SIX]: SIX_METADATA } },
      { name: 'bash', version: '5.1.8', release: '6.el9_1', files: { '/usr/bin/bash': '#!' } },
    ]);
  });
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  async function scan(files: ImageSpec['layers'][number]['files']): Promise<ScanReport> {
    const img = await buildImage({ layers: [{ files }], config: { User: '1000' } });
    const registry = new MemoryRegistry().addImage(img);
    return scanner.scan({ registry, repository: 'q/rpm', digest: img.digest, registryUrl: registry.url });
  }
  const rows = (r: ScanReport) => r.findings.map((f) => [f.kind, f.id, f.package ?? '', f.installedVersion ?? '', f.fixedVersion ?? '', f.severity, f.ecosystem ?? '']).sort();

  test('Rocky 9: packages from rpmdb.sqlite with their epoch, matched in `Rocky Linux:9` by rpm version order', async () => {
    const r = await scan({ 'etc/os-release': ROCKY, 'var/lib/rpm/rpmdb.sqlite': rpmdb, [SIX.slice(1)]: SIX_METADATA });
    expect(r.status).toBe('succeeded');
    expect(rows(r)).toEqual([
      ['vulnerability', 'RLSA-2023:3722', 'openssl-libs', '1:3.0.7-16.el9', '1:3.0.7-16.el9_2', 'high', 'Rocky Linux:9'],
    ]);
  });

  test('the rpm database\'s own path under /usr/lib/sysimage is read too; without the database the pip-looking copy is reported', async () => {
    const r = await scan({ 'etc/os-release': ROCKY, 'usr/lib/sysimage/rpm/rpmdb.sqlite': rpmdb, [SIX.slice(1)]: SIX_METADATA });
    expect(rows(r).map((x) => x[1])).toEqual(['RLSA-2023:3722']);
    // The six metadata is owned by the rpm package above; with no rpm database it is a PyPI package.
    const bare = await scan({ 'etc/os-release': ROCKY, [SIX.slice(1)]: SIX_METADATA });
    expect(rows(bare).filter((x) => x[0] === 'vulnerability').map((x) => [x[1], x[2]])).toEqual([['PYSEC-2099-1', 'six']]);
  });

  test('a Berkeley DB rpm database (RHEL 8, CentOS 7, Amazon Linux 2) is a coverage finding, not a clean image', async () => {
    const r = await scan({ 'etc/os-release': ROCKY.replace(/9\.2/g, '8.8'), 'var/lib/rpm/Packages': Buffer.alloc(4096, 0x62) });
    expect(rows(r)).toEqual([['coverage', 'PORTCULLIS-UNSCANNED-OS', '', '', '', 'unknown', '']]);
    expect(r.findings[0]?.title).toContain('Berkeley DB');
  });

  test('UBI 9: matched in Red Hat\'s mainline RHEL 9 streams (one finding for two streams), not in an EUS stream nor Rocky\'s', async () => {
    const r = await scan({ 'etc/os-release': UBI, 'var/lib/rpm/rpmdb.sqlite': rpmdb });
    expect(rows(r)).toEqual([
      ['vulnerability', 'RHSA-2099:0001', 'openssl-libs', '1:3.0.7-16.el9', '1:3.0.7-18.el9_2', 'high', 'Red Hat:enterprise_linux:9'],
    ]);
  });

  test('a damaged rpmdb.sqlite is an unscanned OS', async () => {
    const r = await scan({ 'etc/os-release': ROCKY, 'var/lib/rpm/rpmdb.sqlite': Buffer.concat([rpmdb.subarray(0, 100), Buffer.alloc(4000, 7)]) });
    expect(rows(r).map((x) => x[1])).toEqual(['PORTCULLIS-UNSCANNED-OS']);
  });
});
