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

/**
 * Red Hat's OSV ecosystems are product streams named by CPE (osv-schema, `Red Hat`):
 * `Red Hat:enterprise_linux:9::baseos`, `…:9::appstream`, `…:9::crb`, RHEL 7's
 * `…:7::server`, RHEL 10's `Red Hat:enterprise_linux:10.1` (a stream per minor release, no
 * repository), and minor-pinned or layered products: `Red Hat:rhel_eus:9.2::appstream`,
 * `Red Hat:rhel_aus:8.6::appstream`, `Red Hat:openshift:4.16::el9`…
 *
 * An image's rpm database does not say which repository a package came from, so every
 * mainline stream of a major release maps to `Red Hat:enterprise_linux:<major>`, the name
 * an RHEL or UBI image's packages carry (../builtin/parsers/os-release.ts). Why all streams,
 * and not the content sets of `/root/buildinfo/content_manifests/*.json` as Trivy reads them:
 * a binary rpm name lives in one repository of a major release, so matching every mainline
 * stream adds no wrong match, while the manifests cover only the layers Red Hat built (a
 * team's `dnf install` on top of UBI has none) and name repositories, not CPEs (the mapping
 * is Red Hat's repository-to-cpe.json, a feed OSV does not carry): reading them could only
 * narrow the match and miss packages. EUS/AUS/E4S/TUS and layered-product streams keep
 * their own names and match nothing: a container built from UBI or mainline repositories
 * gets mainline builds, and a minor-pinned stream's fixed versions are not installable there.
 * Not told apart either: AppStream module streams of one package (`nodejs:18`, `nodejs:20`).
 * Red Hat's OSV records drop the CSAF's `rpmmod` qualifier, so a package of one stream meets
 * another stream's fix: an over-report (fail closed), never a miss.
 */
const RHEL_MAINLINE = /^Red Hat:enterprise_linux:(\d+)(\.\d+)?(?:::[^:]+)?$/;
/** The first major release whose mainline streams are named per minor release. */
const RHEL_MINOR_STREAMS = 10;

export function canonicalEcosystem(ecosystem: string): string {
  const ubuntu = UBUNTU_STANDARD.exec(ecosystem);
  if (ubuntu) return `Ubuntu:${ubuntu[1]}`;
  const rhel = RHEL_MAINLINE.exec(ecosystem);
  // Before RHEL 10 a minor version in the name is not a mainline stream: it keeps its name.
  if (rhel && (rhel[2] === undefined || Number(rhel[1]) >= RHEL_MINOR_STREAMS)) return `Red Hat:enterprise_linux:${rhel[1]}`;
  return ecosystem;
}

/**
 * The package names an installed package is looked up under. Distribution advisories name
 * the source package (Debian, Ubuntu, Alpine's origin, Rocky, Alma); Red Hat's name binary
 * and source rpms alike (a record lists `python39-cryptography`, the binary, and
 * `python-cryptography`, its source), so an RHEL package is looked up under both.
 */
export function advisoryNames(ecosystem: string, name: string, sourceName: string | undefined): string[] {
  if (sourceName === undefined || sourceName === name) return [name];
  return ecosystem.startsWith('Red Hat:') ? [name, sourceName] : [sourceName];
}
