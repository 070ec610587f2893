/**
 * `/etc/os-release` (or `/usr/lib/os-release`, which Debian links it to) and the OSV
 * ecosystem it implies: `Debian:12`, `Alpine:v3.20`, `Ubuntu:22.04`, `Red Hat:enterprise_linux:9`.
 */
export type OsRelease = Record<string, string>;

export function parseOsRelease(text: string): OsRelease {
  const out: OsRelease = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    out[m[1]!] = m[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

/**
 * RPM distributions with an OSV ecosystem of their own, advisories keyed by major release.
 * RHEL and UBI (`ID=rhel`) match Red Hat's mainline streams of that release
 * (`Red Hat:enterprise_linux:9`, see ../../osv/ecosystems.ts). Fedora, Amazon Linux, CentOS
 * and Oracle Linux have no OSV ecosystem (osv-schema 1.7.5): they stay coverage findings.
 */
const RPM_ECOSYSTEMS: Record<string, string> = { rocky: 'Rocky Linux', almalinux: 'AlmaLinux', rhel: 'Red Hat:enterprise_linux' };

/** The OSV ecosystem of the distribution's packages, or null when it is not one OSV covers. */

export function distroEcosystem(os: OsRelease | undefined, manager: 'dpkg' | 'apk' | 'rpm'): string | null {
  const id = os?.ID?.toLowerCase();
  const version = os?.VERSION_ID;
  if (manager === 'rpm') {
    const name = id ? RPM_ECOSYSTEMS[id] : undefined;
    const major = /^(\d+)/.exec(version ?? '')?.[1];
    return name && major ? `${name}:${major}` : null;
  }
  if (manager === 'apk') {
    if (id !== undefined && id !== 'alpine') return null;
    const m = /^(\d+)\.(\d+)/.exec(version ?? '');
    return m ? `Alpine:v${m[1]}.${m[2]}` : 'Alpine';
  }
  if (id === 'ubuntu') return version ? `Ubuntu:${version}` : 'Ubuntu';
  // Derivatives (ID_LIKE=debian) version their packages differently: no guess is made.
  if (id === undefined || id === 'debian') {
    // Debian testing/sid have no VERSION_ID; their advisories are under the bare ecosystem.
    const major = /^(\d+)/.exec(version ?? '')?.[1];
    return major ? `Debian:${major}` : 'Debian';
  }
  return null;
}
