/**
 * Turns the merged filesystem into the installed-package list: the distribution from
 * os-release gives dpkg and apk packages their OSV ecosystem (`Debian:12`, `Alpine:v3.20`);
 * npm and Python packages are the same everywhere.
 */
import type { InstalledPackage } from '../packages';
import type { MergedFilesystem } from './filesystem';
import { distroEcosystem, type OsRelease } from './parsers/os-release';

function osRelease(fs: MergedFilesystem): OsRelease | undefined {
  const etc = fs.get('etc/os-release');
  if (etc?.osRelease) return etc.osRelease;
  // /etc/os-release is usually a symlink into /usr/lib; links are not followed, the known
  // target is read instead, and only when /etc does not hold something else.
  if (etc === undefined || etc.symlinkTarget !== undefined) return fs.get('usr/lib/os-release')?.osRelease;
  return undefined;
}

export function installedPackages(fs: MergedFilesystem): { packages: InstalledPackage[]; os?: OsRelease } {
  const os = osRelease(fs);
  const packages: InstalledPackage[] = [];
  for (const [path, facts] of fs.entries()) {
    if (!facts.packages) continue;
    let ecosystem: string | null;
    if (facts.kind === 'dpkg-status') ecosystem = distroEcosystem(os, 'dpkg');
    else if (facts.kind === 'apk-installed') ecosystem = distroEcosystem(os, 'apk');
    else if (facts.kind === 'npm') ecosystem = 'npm';
    else if (facts.kind === 'go-binary') ecosystem = 'Go';
    // Both rpm database formats yield the same package records; os-release names their ecosystem.
    else if (facts.kind === 'rpmdb-sqlite' || facts.kind === 'rpmdb-bdb') ecosystem = distroEcosystem(os, 'rpm');
    else if (facts.kind === 'java-archive') ecosystem = 'Maven';
    else ecosystem = 'PyPI';
    if (ecosystem === null) continue;
    for (const p of facts.packages) packages.push({ ...p, ecosystem, path: `/${path}`, layer: facts.layer });
  }
  return { packages, os };
}
