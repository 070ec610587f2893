/**
 * OSV ecosystem names as advisories write them → the names installed packages carry.
 *
 * Ubuntu's OSV records name the release with its support status: `Ubuntu:22.04:LTS`,
 * `Ubuntu:24.10`, and for Ubuntu Pro archives `Ubuntu:Pro:18.04:LTS`,
 * `Ubuntu:Pro:FIPS-updates:22.04:LTS`, `Ubuntu:Pro:24.04:LTS:Realtime:Kernel`… An image
 * says only `VERSION_ID=22.04`, so its packages carry `Ubuntu:22.04`: the standard archive's
 * names (`Ubuntu:22.04`, `Ubuntu:22.04:LTS`) map to that. Pro, FIPS and kernel-flavour
 * ecosystems keep their own name: their fixed versions (`+esm`, `fips`) are in archives a
 * standard image does not use, and os-release cannot tell such an image apart.
 */
const UBUNTU_STANDARD = /^Ubuntu:(\d+\.\d+)(?::LTS)?$/;

export function canonicalEcosystem(ecosystem: string): string {
  const ubuntu = UBUNTU_STANDARD.exec(ecosystem);
  if (ubuntu) return `Ubuntu:${ubuntu[1]}`;
  return ecosystem;
}
