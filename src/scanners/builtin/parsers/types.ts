/** A package as a package database records it, before the distribution is known. */
export interface ParsedPackage {
  name: string;
  version: string;
  /** Debian source package / Alpine origin, when it differs from `name`. */
  sourceName?: string;
  /** Debian source version from `Source: name (version)`. */
  sourceVersion?: string;
}
