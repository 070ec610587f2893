/**
 * A Rocky Linux 8 image whose rpm database is Berkeley DB (`/var/lib/rpm/Packages`, a real one
 * written by Berkeley DB 5.3: test/fixtures/rpm-bdb), pushed to the real docker-registry and
 * scanned through the Distribution client: the inventory the scanner keeps is what the real
 * rpm reads from the same file, advisories match in `Rocky Linux:8` by rpm version order, the
 * Python package an rpm owns is left to the OS advisories, and a damaged database is a
 * coverage finding that says what is wrong with it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DistributionClient } from '../../../src/registry/client';
import { BuiltinScanner, type ScannedInventory } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { buildImage, pushImage, type ImageSpec } from '../../harness/images';
import { overflowChains, RPM_BDB_FIXTURES, rpmQuery, ROWS_QF, ourRows } from '../../harness/rpm-bdb';
import { services, uniqueName } from '../../harness/services';

const ROCKY8 = 'NAME="Rocky Linux"\nVERSION="8.8 (Green Obsidian)"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="8.8"\nPRETTY_NAME="Rocky Linux 8.8 (Green Obsidian)"\n';
const SIX = 'usr/lib/python3.6/site-packages/six-1.11.0-py3.6.egg-info';
const SIX_METADATA = 'Metadata-Version: 1.1\nName: six\nVersion: 1.11.0\n';
const PACKAGES = readFileSync(path.join(RPM_BDB_FIXTURES, 'Packages'));

const range = (ecosystem: string, name: string, fixed: string) => ({ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] });

describe('a Berkeley DB rpm database in docker-registry', () => {
  const svc = services();
  const registry = new DistributionClient({ url: svc.internal.url });
  let osv: string;
  let kept: ScannedInventory[];
  let scanner: BuiltinScanner;

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-rpm-bdb-'));
    const rec = (id: string, affected: unknown[], severity = 'Important') =>
      writeFileSync(path.join(osv, `${id.replace(':', '-')}.json`), JSON.stringify({ id, modified: '2024-01-01T00:00:00Z', summary: `${id} advisory`, affected, database_specific: { severity } }));
    // Packages whose name is their source's: which name an rpm advisory is looked up by (binary
    // or source) is the matcher's business, not the database reader's.
    rec('RLSA-2023:3591', [range('Rocky Linux:8', 'zlib', '1.2.11-25.el8')]);
    rec('RLSA-2023:0001', [range('Rocky Linux:8', 'bash', '4.4.20-4.el8_6')], 'Moderate'); // fixed at the installed version
    rec('RLSA-2023:0002', [range('Rocky Linux:9', 'zlib', '1.2.11-40.el9')]); // another release
    rec('RHSA-2023:3591', [range('Red Hat:enterprise_linux:8::baseos', 'zlib', '1.2.11-25.el8')]);
    rec('PYSEC-2099-6', [range('PyPI', 'six', '1.16.0')], 'HIGH'); // the rpm owns six's egg-info
    kept = [];
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv, inventories: { put: async (inv) => void kept.push(inv) } });
  });
  afterAll(() => {
    registry.close();
    rmSync(osv, { recursive: true, force: true });
  });

  async function scan(files: ImageSpec['layers'][number]['files']): Promise<ScanReport> {
    const img = await buildImage({ layers: [{ files }, { files: { 'usr/share/doc/app/README': 'app' } }], config: { User: '1000' } });
    const repository = `quarantine/${uniqueName('rpm-bdb')}`;
    await pushImage(svc.internal.url, repository, undefined, img);
    return scanner.scan({ registry, repository, digest: img.digest, registryUrl: registry.url });
  }
  const rows = (r: ScanReport) => r.findings.map((f) => [f.kind, f.id, f.package ?? '', f.installedVersion ?? '', f.fixedVersion ?? '', f.severity, f.ecosystem ?? '']).sort();

  test('Rocky 8: the packages rpm reads from the same file, matched in `Rocky Linux:8` by rpm version order; the rpm-owned egg-info is no PyPI finding', async () => {
    const r = await scan({ 'etc/os-release': ROCKY8, 'var/lib/rpm/Packages': PACKAGES, [SIX]: SIX_METADATA });
    expect(r.status).toBe('succeeded');
    expect(rows(r)).toEqual([
      ['vulnerability', 'RLSA-2023:3591', 'zlib', '1.2.11-21.el8_7', '1.2.11-25.el8', 'high', 'Rocky Linux:8'],
    ]);
    const packages = kept.at(-1)!.images[0]!.packages;
    const rpms = packages.filter((p) => p.ecosystem === 'Rocky Linux:8');
    expect(rpms.every((p) => p.path === '/var/lib/rpm/Packages')).toBe(true);
    // Name, epoch, version, release and source rpm of each, as rpm prints them for the same file.
    expect(ourRows({ packages: rpms })).toEqual(rpmQuery(PACKAGES, ROWS_QF));
    expect(rpms.find((p) => p.name === 'openssl-libs')).toMatchObject({ version: '1:1.1.1k-12.el8_9', sourceName: 'openssl' });
    expect(packages.filter((p) => p.ecosystem !== 'Rocky Linux:8')).toEqual([]);
  });

  test('UBI 8 (RHEL 8 in os-release): the same database inventoried in Red Hat\'s ecosystem and matched there', async () => {
    const ubi8 = 'NAME="Red Hat Enterprise Linux"\nVERSION="8.8 (Ootpa)"\nID="rhel"\nVERSION_ID="8.8"\nPRETTY_NAME="Red Hat Enterprise Linux 8.8 (Ootpa)"\n';
    const r = await scan({ 'etc/os-release': ubi8, 'var/lib/rpm/Packages': PACKAGES });
    expect(rows(r)).toEqual([['vulnerability', 'RHSA-2023:3591', 'zlib', '1.2.11-21.el8_7', '1.2.11-25.el8', 'high', 'Red Hat:enterprise_linux:8']]);
    const rpms = kept.at(-1)!.images[0]!.packages;
    expect(new Set(rpms.map((p) => p.ecosystem))).toEqual(new Set(['Red Hat:enterprise_linux:8']));
    expect(ourRows({ packages: rpms })).toEqual(rpmQuery(PACKAGES, ROWS_QF));
  });

  test('a Packages file whose overflow chain loops is a coverage finding naming the loop, not a clean image or a hang', async () => {
    const chain = overflowChains(PACKAGES).find((c) => c.length >= 2)!;
    const looped = Buffer.from(PACKAGES);
    looped.writeUInt32LE(chain[0]!, chain.at(-1)! * 4096 + 16);
    const r = await scan({ 'etc/os-release': ROCKY8, 'var/lib/rpm/Packages': looped, [SIX]: SIX_METADATA });
    expect(r.status).toBe('succeeded');
    // The database says nothing, so nothing vouches for six's egg-info: it is a PyPI package again.
    expect(rows(r)).toEqual([
      ['coverage', 'PORTCULLIS-UNSCANNED-OS', '', '', '', 'unknown', ''],
      ['vulnerability', 'PYSEC-2099-6', 'six', '1.11.0', '1.16.0', 'high', 'PyPI'],
    ]);
    const coverage = r.findings.find((f) => f.kind === 'coverage')!;
    expect(coverage.title).toMatch(/^OS packages not scanned: the rpm database of Rocky Linux 8\.8 \(Green Obsidian\) is in Berkeley DB format and no package could be read from it \(overflow page \d+ is used twice \(a cycle or shared chain\)\)$/);
    expect(coverage.path).toBe('/var/lib/rpm/Packages');
  });

  test('a damaged rpmdb.sqlite: its coverage finding says the file could not be read', async () => {
    const r = await scan({ 'etc/os-release': ROCKY8.replace(/8\.8/g, '9.2'), 'var/lib/rpm/rpmdb.sqlite': Buffer.alloc(8192, 7) });
    expect(r.findings.map((f) => [f.id, f.path, f.title])).toEqual([
      ['PORTCULLIS-UNSCANNED-OS', '/var/lib/rpm/rpmdb.sqlite', 'OS packages not scanned: the rpm package database of Rocky Linux 9.2 (Green Obsidian) lists no installed package (not a readable SQLite rpm database)'],
    ]);
  });
});
