/** What the package-database parsers find in an image, and what the OSV matcher looks up. */

/** One installed package. */
export interface InstalledPackage {
  /** Name as the package manager knows it (dpkg binary package, apk package, npm or PyPI name). */
  name: string;
  version: string;
  /**
   * OSV ecosystem: `Debian:12`, `Alpine:v3.20`, `npm`, `PyPI`. Distribution packages carry
   * the release so advisories for another release do not match.
   */
  ecosystem: string;
  /**
   * The name OSV advisories are keyed by when it differs from `name`: Debian's source
   * package (dpkg `Source:`), Alpine's origin (apk `o:`).
   */
  sourceName?: string;
  /** Source version when dpkg records one (`Source: name (version)`), e.g. after a binNMU. */
  sourceVersion?: string;
  /** Path of the database or manifest it was read from. */
  path: string;
  /** Digest of the layer that last wrote that database or manifest. */
  layer?: string;
}
