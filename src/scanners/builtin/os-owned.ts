/**
 * Language packages that an OS package owns are not reported as language packages (what
 * Trivy does too). Debian's python3-urllib3 installs `urllib3-1.26.12.egg-info` with the
 * upstream version but Debian's security patches: a PyPI advisory for 1.26.12 is a false
 * positive there, and the Debian advisory for the source package is the right finding. A
 * copy of the same package that pip installed elsewhere (`/usr/local`) is owned by nothing
 * and is still reported. Ownership comes from the merged filesystem, so a file list deleted
 * in a later layer no longer vouches for anything.
 */
import type { InstalledPackage } from '../packages';
import type { MergedFilesystem } from './filesystem';

const LANGUAGE_ECOSYSTEMS = new Set(['PyPI', 'npm']);

export function withoutOsOwned(packages: readonly InstalledPackage[], fs: MergedFilesystem): InstalledPackage[] {
  const owned = new Set<string>();
  for (const [, facts] of fs.entries()) for (const p of facts.ownedPaths ?? []) owned.add(`/${p}`);
  if (owned.size === 0) return [...packages];
  return packages.filter((p) => !(LANGUAGE_ECOSYSTEMS.has(p.ecosystem) && owned.has(p.path)));
}
