/**
 * The redhat ↔ bdb contract: a Berkeley DB rpm database (RHEL/UBI 8, CentOS 7, Amazon Linux 2)
 * whose reader yields package records is inventoried like the SQLite one (ecosystem from
 * os-release) and is no coverage finding; one nothing was read from still is.
 */
import { LayerChanges, MergedFilesystem } from '../../../../src/scanners/builtin/filesystem';
import { installedPackages } from '../../../../src/scanners/builtin/inventory';
import { osCoverageFindings } from '../../../../src/scanners/builtin/os-coverage';
import { parseOsRelease } from '../../../../src/scanners/builtin/parsers/os-release';
import type { PathFacts } from '../../../../src/scanners/builtin/filesystem';

const UBI8 = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nVERSION_ID="8.10"\nPRETTY_NAME="Red Hat Enterprise Linux 8.10 (Ootpa)"\n';

function fs(packages: PathFacts['packages']): MergedFilesystem {
  const changes = new LayerChanges('sha256:l1');
  changes.facts.set('etc/os-release', { layer: 'sha256:l1', kind: 'os-release', osRelease: parseOsRelease(UBI8) });
  changes.facts.set('var/lib/rpm/Packages', { layer: 'sha256:l1', kind: 'rpmdb-bdb', ...(packages ? { packages } : {}) });
  const merged = new MergedFilesystem();
  merged.apply(changes);
  return merged;
}

describe('Berkeley DB rpm databases and the Red Hat ecosystem', () => {
  test('read: its packages are RHEL 8 packages, and no coverage finding', () => {
    const merged = fs([{ name: 'openssl-libs', version: '1:1.1.1k-12.el8_9', sourceName: 'openssl' }]);
    const { packages, os } = installedPackages(merged);
    expect(packages).toEqual([{ name: 'openssl-libs', version: '1:1.1.1k-12.el8_9', sourceName: 'openssl', ecosystem: 'Red Hat:enterprise_linux:8', path: '/var/lib/rpm/Packages', layer: 'sha256:l1' }]);
    expect(osCoverageFindings(merged, os)).toEqual([]);
  });

  test('noticed but not read: the coverage finding stays', () => {
    const merged = fs(undefined);
    const { packages, os } = installedPackages(merged);
    expect(packages).toEqual([]);
    expect(osCoverageFindings(merged, os).map((f) => [f.id, f.path, f.title])).toEqual([
      ['PORTCULLIS-UNSCANNED-OS', '/var/lib/rpm/Packages', 'OS packages not scanned: the rpm database of Red Hat Enterprise Linux 8.10 (Ootpa) is in Berkeley DB format and no package could be read from it'],
    ]);
  });
});
