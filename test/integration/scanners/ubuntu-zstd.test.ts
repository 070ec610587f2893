/**
 * An Ubuntu 22.04 image whose layers are zstd (compressed by the real `zstd` tool, media type
 * `application/vnd.oci.image.layer.v1.tar+zstd`), pushed to the real docker-registry and read
 * through the Distribution client: its dpkg packages carry `Ubuntu:22.04` and match advisories
 * in the forms Ubuntu's OSV feed writes (`Ubuntu:22.04:LTS`, a Pro release, the priority as a
 * severity of type `Ubuntu`). The advisory follows the shape of Ubuntu's published records.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DistributionClient } from '../../../src/registry/client';
import { BuiltinScanner } from '../../../src/scanners/builtin/adapter';
import { buildImage, pushImage } from '../../harness/images';
import { services, uniqueName } from '../../harness/services';

const OS_RELEASE = [
  'PRETTY_NAME="Ubuntu 22.04.4 LTS"', 'NAME="Ubuntu"', 'VERSION_ID="22.04"', 'VERSION="22.04.4 LTS (Jammy Jellyfish)"',
  'VERSION_CODENAME=jammy', 'ID=ubuntu', 'ID_LIKE=debian', 'UBUNTU_CODENAME=jammy', '',
].join('\n');
const status = (pkgs: Array<[string, string, string]>) =>
  pkgs.map(([name, source, version]) => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nSource: ${source}\nVersion: ${version}\nDescription: ${name}\n`).join('\n');
const entry = (ecosystem: string, name: string, fixed: string) => ({ package: { ecosystem, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] });

describe('an Ubuntu image with zstd layers in docker-registry', () => {
  const svc = services();
  const registry = new DistributionClient({ url: svc.internal.url });
  let osv: string;
  afterAll(() => {
    registry.close();
    rmSync(osv, { recursive: true, force: true });
  });

  test('read through the registry, matched in Ubuntu:22.04:LTS with the Ubuntu priority; Pro fixes and fixed packages are not findings', async () => {
    osv = mkdtempSync(path.join(os.tmpdir(), 'pcs-osv-ubuntu-'));
    const write = (rec: Record<string, unknown> & { id: string }) => writeFileSync(path.join(osv, `${rec.id}.json`), JSON.stringify(rec));
    write({
      id: 'UBUNTU-CVE-2024-2961', upstream: ['CVE-2024-2961'], modified: '2024-05-01T00:00:00Z', summary: 'glibc: out-of-bounds write in iconv',
      severity: [{ type: 'Ubuntu', score: 'high' }],
      affected: [entry('Ubuntu:22.04:LTS', 'glibc', '2.35-0ubuntu3.7'), entry('Ubuntu:Pro:18.04:LTS', 'glibc', '2.27-3ubuntu1.6+esm1')],
    });
    write({
      id: 'UBUNTU-CVE-2023-4911', upstream: ['CVE-2023-4911'], modified: '2023-10-03T00:00:00Z', summary: 'glibc: Looney Tunables',
      severity: [{ type: 'Ubuntu', score: 'high' }, { type: 'CVSS_V3', score: 'CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H' }],
      affected: [entry('Ubuntu:22.04:LTS', 'glibc', '2.35-0ubuntu3.4')],
    });
    write({
      id: 'UBUNTU-CVE-2024-0001', modified: '2024-01-01T00:00:00Z', summary: 'zlib: fixed only in Pro',
      severity: [{ type: 'Ubuntu', score: 'medium' }],
      affected: [entry('Ubuntu:Pro:FIPS-updates:22.04:LTS', 'zlib', '1:1.2.11.dfsg-2ubuntu9.2+fips1')],
    });
    const img = await buildImage({
      layers: [
        { zstd: true, files: { 'etc/os-release': OS_RELEASE, 'var/lib/dpkg/status': status([['libc6', 'glibc', '2.35-0ubuntu3.6'], ['zlib1g', 'zlib', '1:1.2.11.dfsg-2ubuntu9.2']]) } },
        { zstd: true, files: { 'usr/share/doc/app/README': 'app' } },
      ],
      config: { User: '1000' },
    });
    expect(img.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    expect(img.layers[0]!.data.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    const repository = `quarantine/${uniqueName('ubuntu-zstd')}`;
    await pushImage(svc.internal.url, repository, undefined, img);

    const r = await new BuiltinScanner({ name: 'builtin', osvPath: osv }).scan({ registry, repository, digest: img.digest, registryUrl: registry.url });
    expect(r.status).toBe('succeeded');
    expect(r.findings.map((f) => [f.kind, f.id, f.package, f.ecosystem, f.installedVersion, f.fixedVersion, f.severity, f.aliases.join()])).toEqual([
      ['vulnerability', 'UBUNTU-CVE-2024-2961', 'libc6', 'Ubuntu:22.04', '2.35-0ubuntu3.6', '2.35-0ubuntu3.7', 'high', 'CVE-2024-2961'],
    ]);
  });
});
