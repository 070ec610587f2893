/**
 * npm's version ordering: SemVer 2.0 precedence via the `semver` package (the one npm uses).
 * Loose parsing accepts what npm itself installs (`v1.2.3`, `=1.2.3`); build metadata is
 * ignored, as SemVer §10 requires.
 */
import semver from 'semver';
import type { VersionScheme } from './types';

const OPTIONS = { loose: true } as const;

export function compareSemver(a: string, b: string): number {
  const va = semver.parse(a, OPTIONS);
  const vb = semver.parse(b, OPTIONS);
  if (!va || !vb) throw new Error(`invalid semver version: ${!va ? a : b}`);
  return va.compare(vb);
}

export const semverScheme: VersionScheme = {
  name: 'semver',
  isValid: (v) => semver.parse(v, OPTIONS) !== null,
  compare: compareSemver,
};
