/** Picks the version ordering for an OSV ecosystem name (`Debian:12`, `Alpine:v3.20`, `npm`, `PyPI`). */
import { apkScheme } from './apk';
import { dpkgScheme } from './dpkg';
import { pep440Scheme } from './pep440';
import { mavenScheme } from './maven';
import { rpmScheme } from './rpm';
import { semverScheme } from './semver';
import type { VersionScheme } from './types';

export type { VersionScheme } from './types';
export { apkScheme, dpkgScheme, pep440Scheme, semverScheme };

/** Ecosystem base name (before any `:release` suffix) → ordering. */
const BY_ECOSYSTEM: Record<string, VersionScheme> = {
  Debian: dpkgScheme,
  Ubuntu: dpkgScheme,
  Alpine: apkScheme,
  npm: semverScheme,
  // The Go vulnerability database writes module and stdlib versions as SemVer without `v`.
  Go: semverScheme,
  PyPI: pep440Scheme,
  Maven: mavenScheme,
  'Rocky Linux': rpmScheme,
  AlmaLinux: rpmScheme,
  'Red Hat': rpmScheme,
};

/** The ordering for an ecosystem, or null when Portcullis cannot order its versions. */
export function schemeForEcosystem(ecosystem: string): VersionScheme | null {
  const base = ecosystem.split(':', 1)[0] ?? ecosystem;
  return BY_ECOSYSTEM[base] ?? null;
}
