/**
 * Package URLs (purl-spec) of installed packages, from their OSV ecosystem: `pkg:deb/debian/…`,
 * `pkg:apk/alpine/…`, `pkg:rpm/redhat/…`, `pkg:rpm/rocky/…`, `pkg:npm/%40scope/name@…`, `pkg:pypi/…`,
 * `pkg:golang/module/path@…`, `pkg:maven/group/artifact@…`. Each segment is percent-encoded;
 * a package of an ecosystem purl has no type for is `pkg:generic`.
 */
import type { InstalledPackage } from '../packages';

const enc = (s: string): string => encodeURIComponent(s);

function build(type: string, namespace: string | undefined, name: string, version: string, qualifiers: Record<string, string> = {}): string {
  const ns = namespace ? `${namespace.split('/').map(enc).join('/')}/` : '';
  const q = Object.keys(qualifiers).sort().filter((k) => qualifiers[k] !== '').map((k) => `${k}=${enc(qualifiers[k]!)}`);
  return `pkg:${type}/${ns}${enc(name)}@${enc(version)}${q.length > 0 ? `?${q.join('&')}` : ''}`;
}

/**
 * purl-spec's rpm type: the namespace is the vendor, the version is `<version>-<release>`, and
 * the epoch, when not 0, is the `epoch` qualifier, never part of the version. `distro` is
 * `<vendor>-<release>` as in the spec's `distro=fedora-25`, except for Red Hat: Red Hat's purl
 * guidelines (security-data-guidelines, docs/purl.md), which its SBOMs, CSAF and VEX files
 * follow, name its packages `pkg:rpm/redhat/<name>@<version>-<release>?arch=…` and advise
 * against `distro` (one build ships in several minor releases), so that a container's SBOM
 * matches Red Hat's own data by purl. `arch` is omitted (the inventory does not record it; a
 * purl without it means every architecture), and so is Red Hat's `repository_id` (unknown in
 * an image).
 */
const RPM_VENDORS: Record<string, { namespace: string; distro: boolean }> = {
  'Red Hat': { namespace: 'redhat', distro: false },
  'Rocky Linux': { namespace: 'rocky', distro: true },
  AlmaLinux: { namespace: 'almalinux', distro: true },
  Fedora: { namespace: 'fedora', distro: true },
};

function rpmPurl(base: string, release: string, name: string, evr: string): string {
  const vendor = RPM_VENDORS[base]!;
  const colon = evr.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(evr.slice(0, colon)) ? evr.slice(0, colon) : '';
  const version = epoch ? evr.slice(colon + 1) : evr;
  return build('rpm', vendor.namespace, name, version, {
    distro: vendor.distro && release ? `${vendor.namespace}-${release}` : '',
    epoch: /^0+$/.test(epoch) ? '' : epoch,
  });
}

export function purlOf(pkg: Pick<InstalledPackage, 'name' | 'version' | 'ecosystem'>): string {
  const [base = pkg.ecosystem, release = ''] = pkg.ecosystem.split(':');
  switch (base) {
    case 'Debian':
    case 'Ubuntu': {
      const distro = base.toLowerCase();
      return build('deb', distro, pkg.name, pkg.version, { distro: release ? `${distro}-${release}` : '' });
    }
    case 'Alpine':
      return build('apk', 'alpine', pkg.name, pkg.version, { distro: release.replace(/^v/, '') });
    case 'Rocky Linux':
    case 'AlmaLinux':
    case 'Fedora':
    case 'Red Hat':
      return rpmPurl(base, release, pkg.name, pkg.version);
    case 'npm': {
      const slash = pkg.name.startsWith('@') ? pkg.name.indexOf('/') : -1;
      return slash > 0 ? build('npm', pkg.name.slice(0, slash), pkg.name.slice(slash + 1), pkg.version) : build('npm', undefined, pkg.name, pkg.version);
    }
    case 'PyPI':
      // purl-spec: PyPI names are lowercased, `_` becomes `-`.
      return build('pypi', undefined, pkg.name.toLowerCase().replace(/_/g, '-'), pkg.version);
    case 'Go': {
      const slash = pkg.name.lastIndexOf('/');
      return slash > 0 ? build('golang', pkg.name.slice(0, slash), pkg.name.slice(slash + 1), pkg.version) : build('golang', undefined, pkg.name, pkg.version);
    }
    case 'Maven': {
      const colon = pkg.name.indexOf(':');
      return colon > 0 ? build('maven', pkg.name.slice(0, colon), pkg.name.slice(colon + 1), pkg.version) : build('maven', undefined, pkg.name, pkg.version);
    }
    default:
      return build('generic', undefined, pkg.name, pkg.version);
  }
}

/** `pkg:oci/<name>@<digest>?repository_url=<host/repository>` (purl-spec's OCI type) of an image. */
export function imagePurl(registryHost: string, repository: string, digest: string): string {
  const name = repository.split('/').at(-1) ?? repository;
  return build('oci', undefined, name, digest, { repository_url: `${registryHost}/${repository}` });
}
