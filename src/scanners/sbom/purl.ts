/**
 * Package URLs (purl-spec) of installed packages, from their OSV ecosystem: `pkg:deb/debian/…`,
 * `pkg:apk/alpine/…`, `pkg:rpm/rocky/…`, `pkg:npm/%40scope/name@…`, `pkg:pypi/…`,
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

/** `Rocky Linux:9` → `rocky`, `AlmaLinux:9` → `almalinux`, `Red Hat` → `redhat`. */
function rpmVendor(base: string): string {
  const lower = base.toLowerCase();
  if (lower.startsWith('rocky')) return 'rocky';
  return lower.replace(/[^a-z0-9]+/g, '');
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
    case 'Red Hat': {
      const vendor = rpmVendor(base);
      return build('rpm', vendor, pkg.name, pkg.version, { distro: release ? `${vendor}-${release}` : '' });
    }
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
