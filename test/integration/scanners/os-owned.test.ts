/**
 * Language packages owned by an OS package are not reported as language packages: Debian's
 * real python3-urllib3 (downloaded with apt, its files and its dpkg status and `.list`
 * entries as dpkg writes them) carries `urllib3-1.26.12.egg-info` with Debian's patches; the
 * PyPI advisories for 1.26.12 in the real PyPI database (../shared/realworld/osv/PyPI) must
 * not be reported for it, while a pip-installed copy of the same version in /usr/local is.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import type { ScanReport } from '../../../src/scanners/types';
import { debianPackage, type DebianPackage } from '../../harness/debian-package';
import { buildImage, type ImageSpec } from '../../harness/images';
import { realworld } from '../../harness/realworld';
import { MemoryRegistry } from '../../unit/scanners/builtin/memory-registry';

const OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
const PIP_METADATA = 'Metadata-Version: 2.1\nName: urllib3\nVersion: 1.26.12\nSummary: HTTP library with thread-safe connection pooling\n';
const PIP_COPY = 'usr/local/lib/python3.11/dist-packages/urllib3-1.26.12.dist-info/METADATA';
const EGG_INFO = '/usr/lib/python3/dist-packages/urllib3-1.26.12.egg-info/PKG-INFO';

describe('language packages owned by OS packages', () => {
  let osv: string;
  let deb: DebianPackage;
  let scanner: BuiltinScanner;

  beforeAll(() => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-pypi-'));
    cpSync(realworld('osv', 'PyPI', 'all.zip'), path.join(osv, 'all.zip'));
    deb = debianPackage('python3-urllib3');
    // One scanner: the real PyPI database is loaded once.
    scanner = new BuiltinScanner({ name: 'builtin', osvPath: osv });
  });
  afterAll(() => rmSync(osv, { recursive: true, force: true }));

  async function scan(layers: ImageSpec['layers']): Promise<ScanReport> {
    const img = await buildImage({ layers, config: { User: '1000' } });
    const registry = new MemoryRegistry().addImage(img);
    return scanner.scan({ registry, repository: 'q/x', digest: img.digest, registryUrl: registry.url });
  }
  const vulns = (r: ScanReport): string[][] =>
    r.findings.filter((f) => f.kind === 'vulnerability').map((f) => [f.id, f.package!, f.installedVersion!, f.fixedVersion ?? '', f.severity, f.path!]).sort();

  const base = (): ImageSpec['layers'][number] => ({ files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': deb.status, ...deb.files } });

  test('the real package has the egg-info and the .list names it (the fixture is what the test assumes)', () => {
    expect(deb.files[EGG_INFO.slice(1)]?.toString()).toMatch(/^Metadata-Version: [\d.]+\nName: urllib3\nVersion: 1\.26\.12\n/);
    expect(String(deb.files['var/lib/dpkg/info/python3-urllib3.list'])).toContain(`\n${EGG_INFO}\n`);
    expect(deb.status).toMatch(/^Package: python3-urllib3\nStatus: install ok installed\n/);
  });

  test('the dpkg-owned egg-info is not a PyPI package; the pip copy in /usr/local is, with the real advisories', async () => {
    const r = await scan([base(), { files: { [PIP_COPY]: PIP_METADATA } }]);
    expect(r.status).toBe('succeeded');
    expect(vulns(r)).toEqual([
      ['PYSEC-2023-192', 'urllib3', '1.26.12', '1.26.17', 'high', `/${PIP_COPY}`],
      ['PYSEC-2023-212', 'urllib3', '1.26.12', '1.26.18', 'medium', `/${PIP_COPY}`],
    ]);
    expect(r.findings.filter((f) => f.path === EGG_INFO)).toEqual([]);
  });

  test('without the .list the same egg-info is reported: the ownership is what hides it', async () => {
    const layer = base();
    delete layer.files['var/lib/dpkg/info/python3-urllib3.list'];
    expect(vulns(await scan([layer])).map((v) => [v[0], v[5]])).toEqual([
      ['PYSEC-2023-192', EGG_INFO],
      ['PYSEC-2023-212', EGG_INFO],
    ]);
  });

  test('Alpine: a dist-info listed in the apk database (R: under F:) is py3-urllib3\'s, not a PyPI package; an unlisted copy is', async () => {
    const meta = PIP_METADATA;
    const site = 'usr/lib/python3.11/site-packages';
    const installed = [
      'P:py3-urllib3', 'V:1.26.12-r0', 'A:x86_64', 'o:py3-urllib3', `F:${site}/urllib3-1.26.12.dist-info`, 'R:METADATA', 'R:RECORD', '',
    ].join('\n');
    const alpine = { 'etc/os-release': 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.17.2\nPRETTY_NAME="Alpine Linux v3.17"\n', 'lib/apk/db/installed': installed };
    const r = await scan([{ files: { ...alpine, [`${site}/urllib3-1.26.12.dist-info/METADATA`]: meta, [PIP_COPY]: meta } }]);
    expect(r.status).toBe('succeeded');
    expect(vulns(r).map((v) => [v[0], v[5]])).toEqual([
      ['PYSEC-2023-192', `/${PIP_COPY}`],
      ['PYSEC-2023-212', `/${PIP_COPY}`],
    ]);
    expect(r.findings.filter((f) => f.path?.includes(site))).toEqual([]);
  });

  test('a .list deleted in a later layer no longer vouches for the file', async () => {
    const r = await scan([base(), { files: { 'var/lib/dpkg/info/.wh.python3-urllib3.list': '' } }]);
    expect(vulns(r).map((v) => v[5])).toEqual([EGG_INFO, EGG_INFO]);
  });
});
